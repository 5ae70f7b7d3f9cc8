"""Apple Wallet web service (webServiceURL = <public base>/wallet/apple/), version 1."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request
from flask.typing import ResponseReturnValue

from gateway.runtime import request_session, runtime
from gateway.services.keep_live.apple_web_service import (
    changed_passes,
    latest_pass,
    record_device_logs,
    register_device,
    unregister_device,
)

bp = Blueprint("apple_web_service", __name__, url_prefix="/wallet/apple/v1")
REGISTRATION = "/devices/<device_id>/registrations/<pass_type_id>/<serial>"


def _authorization() -> str:
    return request.headers.get("Authorization", "")


@bp.post(REGISTRATION)
def register(device_id: str, pass_type_id: str, serial: str) -> ResponseReturnValue:
    """201 for a new registration, 200 for a known one, 401 for a wrong token."""
    body = request.get_json(silent=True)
    push_token = body.get("pushToken") if isinstance(body, dict) else None
    created = register_device(
        request_session(),
        runtime(),
        device_id,
        pass_type_id,
        serial,
        _authorization(),
        push_token,
    )
    return Response(status=201 if created else 200)


@bp.delete(REGISTRATION)
def unregister(device_id: str, pass_type_id: str, serial: str) -> ResponseReturnValue:
    """200 once the registration is gone."""
    unregister_device(
        request_session(), runtime(), device_id, pass_type_id, serial, _authorization()
    )
    return Response(status=200)


@bp.get("/devices/<device_id>/registrations/<pass_type_id>")
def serials(device_id: str, pass_type_id: str) -> ResponseReturnValue:
    """Serial numbers updated since `passesUpdatedSince`; 204 when nothing changed."""
    changed = changed_passes(
        request_session(),
        runtime(),
        device_id,
        pass_type_id,
        request.args.get("passesUpdatedSince"),
    )
    if changed is None:
        return Response(status=204)
    return jsonify({"serialNumbers": changed.serial_numbers, "lastUpdated": changed.last_updated})


@bp.get("/passes/<pass_type_id>/<serial>")
def latest(pass_type_id: str, serial: str) -> ResponseReturnValue:
    """The signed pass, with Last-Modified; 304 when If-Modified-Since is not older."""
    pass_file = latest_pass(request_session(), runtime(), pass_type_id, serial, _authorization())
    response = Response(pass_file.content, mimetype="application/vnd.apple.pkpass")
    response.last_modified = pass_file.last_modified
    response.headers["Cache-Control"] = "no-cache"
    return response.make_conditional(request)


@bp.post("/log")
def device_log() -> ResponseReturnValue:
    """Wallet's own error reports about this service."""
    body = request.get_json(silent=True)
    record_device_logs(body.get("logs") if isinstance(body, dict) else None)
    return Response(status=200)
