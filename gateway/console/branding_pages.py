"""Console pages: pass images, the live pass preview and the progress of pass updates."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from flask import Flask, Response, current_app, jsonify, redirect, render_template, request, url_for
from flask.blueprints import BlueprintSetupState
from flask.typing import ResponseReturnValue
from werkzeug.datastructures import FileStorage

from gateway.api.body_limits import set_endpoint_limit
from gateway.console.auth import current_operator, require_role, signed_in
from gateway.console.views import bp
from gateway.domain.errors import GatewayError
from gateway.models.program import Program
from gateway.runtime import request_session
from gateway.services.issue.programs import find_program
from gateway.services.operate import pass_refresh, program_images
from gateway.services.operate.field_errors import FieldErrors
from gateway.services.operate.pass_refresh import RefreshProgress
from passes.apple.pass_json import StoreCardContent, store_card_pass_json
from passes.codes import SECRET_BYTES
from passes.google.objects import (
    LoyaltyClassContent,
    LoyaltyObjectContent,
    loyalty_class,
    object_patch,
)

EDIT_ROLES = ("admin", "marketer")
# Three files of at most 2 MB each fit easily; a 20 MB file is still read (spooled to disk by
# Werkzeug) so that the operator gets a field error on the page instead of a bare 413.
UPLOAD_BODY_LIMIT = 24 * 1024 * 1024
IMAGE_NAMES = frozenset(
    f"{kind}{suffix}.png" for kind in program_images.SLOTS for _, suffix in program_images.SCALES
)


@bp.record_once
def _raise_upload_limit(state: BlueprintSetupState) -> None:
    set_endpoint_limit(cast(Flask, state.app), "console.program_branding", UPLOAD_BODY_LIMIT)


# --- the live preview ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PassPreview:
    """What the Apple card face and the Google card show, taken from the pass builders."""

    organization: str
    name: str
    points_label: str
    balance: int
    tier: str
    google_points_label: str
    google_tier: str
    apple_background: str
    apple_foreground: str
    apple_label: str
    google_background: str
    google_text: str
    images: dict[str, str]


_SAMPLE_BALANCE = 1250
_DEFAULTS = {"background_color": "#1f2937", "foreground_color": "#ffffff", "label_color": "#d1d5db"}


def _google_text_color(hex_color: str) -> str:
    """Google picks dark or light text for the background; approximate it the same way."""
    red, green, blue = (int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
    luminance = 0.2126 * red + 0.7152 * green + 0.0722 * blue
    return "#1f1f1f" if luminance > 160 else "#ffffff"


def _preview_colors(program: Program | None) -> dict[str, str]:
    colors = dict(_DEFAULTS)
    if program is not None:
        colors.update(
            background_color=program.background_color,
            foreground_color=program.foreground_color,
            label_color=program.label_color,
        )
    return colors


def build_preview(program: Program | None) -> PassPreview:
    """The preview of `program` (None: the create page, placeholders) through the same builders
    that make pass.json and the Google class and object."""
    colors = _preview_colors(program)
    organization = program.organization if program else ""
    name = program.name if program else ""
    points_label = program.points_label if program else "Points"
    tier = program.tiers[0].name if program and program.tiers else "Member"
    try:
        # Placeholders where a real pass has its identifiers, token and code (not secrets).
        apple = store_card_pass_json(
            StoreCardContent(
                pass_type_id="pass.preview",  # noqa: S106
                team_id="PREVIEW",
                serial="preview",
                organization=organization or "Organization",
                description=f"{name or 'Program'} loyalty card",
                web_service_url="https://preview.invalid/",
                authentication_token="preview-token-0000",  # noqa: S106
                card_number="0000000000",
                barcode_message="preview",
                balance=_SAMPLE_BALANCE,
                points_label=points_label,
                tier=tier,
                member_name="Alex Sample",
                discount_percent=0,
                terms="",
                support_url="",
                **colors,
            )
        )
        google_class = loyalty_class(
            LoyaltyClassContent(
                class_id="preview.preview",
                issuer_name=organization,
                program_name=name,
                logo_url="",
                background_color=colors["background_color"],
                callback_url="",
            )
        )
        google_object = object_patch(
            LoyaltyObjectContent(
                object_id="preview.preview",
                class_id="preview.preview",
                state="ACTIVE",
                card_number="0000000000",
                member_name="Alex Sample",
                points_label=points_label,
                balance=_SAMPLE_BALANCE,
                tier=tier,
                discount_percent=0,
                code_secret=bytes(SECRET_BYTES),
                totp_period_seconds=30,
                totp_digits=8,
            )
        )
    except ValueError:  # a stored color the builders refuse: show the defaults
        if program is None:
            raise
        return build_preview(None)
    balance_field = apple["storeCard"]["primaryFields"][0]
    tier_field = apple["storeCard"]["secondaryFields"][0]
    google_background = str(google_class["hexBackgroundColor"])
    images: dict[str, str] = {}
    if program is not None:
        versions = program_images.image_versions(request_session(), program)
        for kind in program_images.SLOTS:
            name_3x = f"{kind}@3x.png"
            chosen = name_3x if name_3x in versions else f"{kind}.png"
            if chosen in versions:
                images[kind] = url_for(
                    "console.program_image", slug=program.slug, name=chosen, v=versions[chosen]
                )
    return PassPreview(
        organization=str(apple["logoText"]) if organization else "",
        name=str(google_class["programName"]),
        points_label=str(balance_field["label"]),
        balance=int(balance_field["value"]),
        tier=str(tier_field["value"]),
        google_points_label=str(google_object["loyaltyPoints"]["label"]),
        google_tier=str(google_object["textModulesData"][0]["body"]),
        apple_background=str(apple["backgroundColor"]),
        apple_foreground=str(apple["foregroundColor"]),
        apple_label=str(apple["labelColor"]),
        google_background=google_background,
        google_text=_google_text_color(google_background),
        images=images,
    )


@bp.app_context_processor
def _preview_helper() -> dict[str, object]:
    """`pass_preview(program)` for console/_pass_preview.html."""
    return {"pass_preview": build_preview}


# --- pages --------------------------------------------------------------------------------


def _not_found(what: str) -> ResponseReturnValue:
    return render_template(
        "console/message.html",
        title="Not found",
        message=f"There is no such {what}. It may have been removed, or the link is wrong.",
        operator=current_operator(),
    ), 404


def _actor() -> str:
    operator = current_operator()
    assert operator is not None
    return f"operator:{operator.id}"


def _read_uploads() -> dict[str, bytes]:
    """The chosen files, each read up to one byte past the limit (enough to say "too large")."""
    uploads: dict[str, bytes] = {}
    for kind in program_images.SLOTS:
        storage: FileStorage | None = request.files.get(kind)
        if storage is None or (not storage.filename and not storage.content_length):
            continue
        data = storage.stream.read(program_images.MAX_UPLOAD_BYTES + 1)
        if not data and not storage.filename:
            continue  # an empty file input
        uploads[kind] = data
    return uploads


def _branding_page(program: Program, errors: dict[str, str], status: int) -> ResponseReturnValue:
    session = request_session()
    return render_template(
        "console/program_branding.html",
        operator=current_operator(),
        program=program,
        slots=program_images.SLOTS.values(),
        max_mb=program_images.MAX_UPLOAD_BYTES // (1024 * 1024),
        errors=errors,
        refresh=pass_refresh.latest_refresh(session, program),
        programs_url=url_for("console.programs")
        if "console.programs" in current_app.view_functions
        else None,
    ), status


@bp.route("/programs/<slug>/branding", methods=["GET", "POST"])
@require_role(*EDIT_ROLES)
def program_branding(slug: str) -> ResponseReturnValue:
    """Upload the logo, icon and strip; see the card as Apple and Google will show it."""
    session = request_session()
    program = find_program(session, slug)
    if program is None:
        return _not_found("program")
    if request.method == "GET":
        return _branding_page(program, {}, 200)
    try:
        refresh = program_images.replace_images(session, program, _read_uploads(), _actor())
    except FieldErrors as failure:
        session.rollback()
        return _branding_page(program, failure.fields, failure.status)
    return redirect(url_for("console.refresh_progress", slug=slug, refresh_id=refresh.id))


def _progress_of(slug: str, refresh_id: int) -> tuple[Program, RefreshProgress] | None:
    session = request_session()
    program = find_program(session, slug)
    if program is None:
        return None
    try:
        progress = pass_refresh.refresh_progress(session, refresh_id)
    except GatewayError:
        return None
    return (program, progress) if progress.program_id == program.id else None


@bp.get("/programs/<slug>/refreshes/<int:refresh_id>")
@require_role(*EDIT_ROLES)
def refresh_progress(slug: str, refresh_id: int) -> ResponseReturnValue:
    """A progress bar of the pass update that a saved change started; it updates itself."""
    found = _progress_of(slug, refresh_id)
    if found is None:
        return _not_found("pass update")
    program, progress = found
    return render_template(
        "console/refresh_progress.html",
        operator=current_operator(),
        program=program,
        progress=progress,
    )


@bp.get("/programs/<slug>/refreshes/<int:refresh_id>/progress.json")
@require_role(*EDIT_ROLES)
def refresh_progress_json(slug: str, refresh_id: int) -> ResponseReturnValue:
    """What the progress bar polls: total, done, failed, percent, finished."""
    found = _progress_of(slug, refresh_id)
    if found is None:
        return jsonify({"error": {"code": "not_found", "message": "No such pass update."}}), 404
    response = jsonify(found[1].as_json())
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/programs/<slug>/images/<name>")
@signed_in
def program_image(slug: str, name: str) -> ResponseReturnValue:
    """A stored pass image, for the preview (the URL carries the image's id, so it may cache)."""
    session = request_session()
    program = find_program(session, slug)
    content = (
        program_images.image_content(session, program, name)
        if program is not None and name in IMAGE_NAMES
        else None
    )
    if content is None:
        return _not_found("image")
    response = Response(content, mimetype="image/png")
    response.headers["Cache-Control"] = "private, max-age=86400"
    return response
