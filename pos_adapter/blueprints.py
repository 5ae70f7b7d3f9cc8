"""Plugging the POS protocol into the gateway's Flask app (server side only)."""

from __future__ import annotations

import importlib
import importlib.util

from flask import Flask


def register(app: Flask) -> None:
    """Plug the POS protocol (and its docs, when that module is present) into the gateway app."""
    from gateway.api.body_limits import set_blueprint_limit
    from pos_adapter.api import bp
    from pos_adapter.auth import MAX_BODY_BYTES

    app.register_blueprint(bp)
    set_blueprint_limit(app, bp.name, MAX_BODY_BYTES)
    if importlib.util.find_spec("pos_adapter.docs") is not None:
        docs = importlib.import_module("pos_adapter.docs")
        app.register_blueprint(docs.bp)
