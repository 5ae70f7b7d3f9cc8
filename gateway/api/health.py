"""Liveness and readiness."""

from __future__ import annotations

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import text

from gateway.runtime import request_session

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    """200 when the database answers."""
    request_session().execute(text("SELECT 1"))
    return jsonify({"status": "ok"})
