"""Pass downloads and program images."""

from __future__ import annotations

from flask import Blueprint, Response
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from gateway.domain.errors import not_found
from gateway.models.program import Program, ProgramImage
from gateway.runtime import request_session, runtime
from gateway.services.issue.apple_passes import pkpass_by_download_token

bp = Blueprint("passes", __name__, url_prefix="/api/v1")

PKPASS_MIME = "application/vnd.apple.pkpass"


@bp.get("/passes/apple/<token>.pkpass")
def download_apple_pass(token: str) -> ResponseReturnValue:
    """The signed .pkpass behind a tokenized link."""
    pass_file = pkpass_by_download_token(request_session(), runtime(), token)
    response = Response(pass_file.content, mimetype=PKPASS_MIME)
    response.headers["Content-Disposition"] = f'attachment; filename="{pass_file.serial}.pkpass"'
    response.headers["Cache-Control"] = "no-store"
    response.last_modified = pass_file.last_modified
    return response


@bp.get("/programs/<slug>/images/<name>")
def program_image(slug: str, name: str) -> ResponseReturnValue:
    """A program image (Google fetches the logo from here)."""
    session = request_session()
    image = session.scalar(
        select(ProgramImage)
        .join(Program, Program.id == ProgramImage.program_id)
        .where(Program.slug == slug, ProgramImage.name == name)
    )
    if image is None:
        raise not_found("image")
    response = Response(image.content, mimetype="image/png")
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response
