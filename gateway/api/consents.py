"""A member's consents, reached through the signed link given at enrollment."""

from __future__ import annotations

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

from gateway.api.json_body import json_object
from gateway.runtime import request_session, runtime
from gateway.services.issue.consents import current_consents, withdraw

bp = Blueprint("consents", __name__, url_prefix="/api/v1/consents")


@bp.get("/<token>")
def show(token: str) -> ResponseReturnValue:
    """The latest decision per consent kind."""
    return jsonify({"consents": current_consents(request_session(), runtime(), token)})


@bp.post("/<token>/withdraw")
def withdraw_consent(token: str) -> ResponseReturnValue:
    """`{"kind": "marketing"}` -> the consents after withdrawal."""
    body = json_object()
    return jsonify({"consents": withdraw(request_session(), runtime(), token, body.get("kind"))})
