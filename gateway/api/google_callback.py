"""POST /wallet/google/callback: Google tells us a pass was saved or deleted."""

from __future__ import annotations

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

from gateway.api.json_body import json_object
from gateway.runtime import request_session, runtime
from gateway.services.keep_live.google_callbacks import handle_callback

bp = Blueprint("google_callback", __name__)


@bp.post("/wallet/google/callback")
def callback() -> ResponseReturnValue:
    """200 once verified (also for a repeated nonce); 400 `callback_rejected` otherwise."""
    outcome = handle_callback(request_session(), runtime(), json_object())
    return jsonify({"result": outcome})
