"""QR codes for pages, rendered as SVG with segno."""

from __future__ import annotations

import io

import segno
from flask import Blueprint, Response, request, url_for
from flask.typing import ResponseReturnValue

from gateway.domain.errors import GatewayError
from gateway.runtime import request_session, runtime
from gateway.services.issue.programs import find_program

bp = Blueprint("qr", __name__)


@bp.get("/enroll/<slug>/qr.svg")
def enroll_page_qr(slug: str) -> ResponseReturnValue:
    """A QR code of the program's enrollment page, so a desktop visitor continues on the phone."""
    if find_program(request_session(), slug) is None:
        raise GatewayError("unknown_program", f"no program {slug!r}", 404)
    base = runtime().settings.public_base_url.rstrip("/") or request.host_url.rstrip("/")
    svg = io.BytesIO()
    segno.make(base + url_for("pages.enroll_page", slug=slug), error="m").save(
        svg, kind="svg", scale=6, border=2
    )
    response = Response(svg.getvalue(), mimetype="image/svg+xml")
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response
