"""Apple Wallet web service (webServiceURL = <public base>/wallet/apple/), version 1."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, Response, jsonify, request
from flask.typing import ResponseReturnValue

from gateway.api.json_body import json_or_none
from gateway.domain.errors import GatewayError
from gateway.runtime import request_session, runtime
from gateway.services.keep_live.apple_web_service import (
    changed_passes,
    latest_pass,
    record_device_logs,
    register_device,
    unregister_device,
    update_tag,
)

bp = Blueprint("apple_web_service", __name__, url_prefix="/wallet/apple/v1")
REGISTRATION = "/devices/<device_id>/registrations/<pass_type_id>/<serial>"


# The newest update tag a datetime can hold (a larger one cannot be a tag of ours).
_MAX_TAG = int(update_tag(datetime.max.replace(tzinfo=UTC)))


def _update_tag_arg() -> str | None:
    """`passesUpdatedSince`; 400 `validation_error` for a number no update tag can be."""
    since = request.args.get("passesUpdatedSince")
    if (
        since is not None
        and since.isdigit()  # also true for non-ASCII digits, which int() may not take
        and (not since.isascii() or len(since) > 20 or int(since) > _MAX_TAG)
    ):
        raise GatewayError(
            "validation_error",
            "passesUpdatedSince is not an update tag",
            400,
            field="passesUpdatedSince",
        )
    return since


def _authorization() -> str:
    return request.headers.get("Authorization", "")


@bp.post(REGISTRATION)
def register(device_id: str, pass_type_id: str, serial: str) -> ResponseReturnValue:
    """201 for a new registration, 200 for a known one, 401 for a wrong token."""
    body = json_or_none()
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
        _update_tag_arg(),
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
    body = json_or_none()
    record_device_logs(body.get("logs") if isinstance(body, dict) else None)
    return Response(status=200)
