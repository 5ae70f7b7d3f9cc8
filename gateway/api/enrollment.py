"""POST /api/v1/enrollments and /api/v1/enrollments/<id>/verify."""

from __future__ import annotations

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue

from gateway.api.json_body import json_object
from gateway.runtime import request_session, runtime
from gateway.services.issue.enrollment import start_enrollment, verify_enrollment

bp = Blueprint("enrollment", __name__, url_prefix="/api/v1/enrollments")
CHANNEL_HEADER = "X-Enrollment-Channel"


@bp.post("")
def create() -> ResponseReturnValue:
    """Always 202 for a valid request: no hint whether the contact is already a member."""
    # Attribution for the reports only (page or API); it grants nothing.
    channel = "page" if request.headers.get(CHANNEL_HEADER) == "page" else "api"
    started = start_enrollment(
        request_session(),
        runtime(),
        json_object(),
        channel=channel,
        address=request.remote_addr or "",
    )
    return jsonify({"enrollment_id": started.enrollment_id, "verify_via": started.verify_via}), 202


@bp.post("/<enrollment_id>/verify")
def verify(enrollment_id: str) -> ResponseReturnValue:
    """Check the code; digitize the CRM card or create the member; answer with pass links."""
    return jsonify(verify_enrollment(request_session(), runtime(), enrollment_id, json_object()))
