"""The admin API /admin/v1: JSON over the same operator services as the console and the CLI.

Each area adds its endpoints in its own module (registered in `register`); `openapi.py` gathers
their descriptions into /admin/v1/openapi.json."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """Attach the admin API blueprint with every area's endpoints."""
    from gateway.api.admin import api_keys, members, openapi, programs, rewards, stores  # noqa: F401
    from gateway.api.admin.blueprint import bp

    app.register_blueprint(bp)
