"""Console pages: the programs list, and the form that creates and edits a program (tiers as
rows). The form posts to the same services as the admin API and the CLI."""

from __future__ import annotations

import re
from typing import Any

from flask import current_app, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from werkzeug.datastructures import MultiDict

from gateway.console.auth import current_operator, require_role
from gateway.console.views import bp
from gateway.domain.errors import GatewayError
from gateway.models.program import Program
from gateway.runtime import request_session, runtime
from gateway.services.issue.programs import wallet_ids
from gateway.services.operate import programs as service
from gateway.services.operate.field_errors import FieldErrors

ROLES = ("admin", "marketer")
TIER_KEYS = ("id", "name", "threshold", "earn_multiplier", "discount_percent")
# Empty tier rows under the filled ones, so tiers can be added without JavaScript.
SPARE_TIER_ROWS = 2
MAX_TIER_ROWS = 40
_TIER_FIELD = re.compile(r"tier-(\d+)-(\w+)")
_TIER_ERROR = re.compile(r"tiers\[(\d+)\](?:\.(\w+))?")


def _actor() -> str:
    operator = current_operator()
    assert operator is not None  # require_role ran first
    return f"operator:{operator.id}"


@bp.get("/programs")
@require_role(*ROLES)
def programs() -> ResponseReturnValue:
    """Every program with its currency, earning rate and state."""
    return render_template(
        "console/programs.html",
        operator=current_operator(),
        programs=service.list_programs(request_session()),
        number_text=service.number_text,
    )


@bp.route("/programs/new", methods=["GET", "POST"])
@require_role(*ROLES)
def programs_new() -> ResponseReturnValue:
    """Create a program: wallet identifiers come from the gateway's credentials."""
    if request.method == "GET":
        values = {k: _text(v) for k, v in service.NEW_PROGRAM_DEFAULTS.items() if k != "tiers"}
        values["currency"] = "EUR"
        rows = [_row(tier) for tier in service.NEW_PROGRAM_DEFAULTS["tiers"]]
        return _form(None, values, rows, {})
    data, rows, index = _submitted(request.form, creating=True)
    try:
        program = service.create_program(request_session(), wallet_ids(runtime()), _actor(), data)
    except FieldErrors as failure:
        return _form(None, _typed(request.form), rows, _errors(failure.fields, index), 422)
    return redirect(url_for("console.programs_edit", slug=program.slug, created=1))


@bp.route("/programs/<slug>", methods=["GET", "POST"])
@require_role(*ROLES)
def programs_edit(slug: str) -> ResponseReturnValue:
    """Edit a program; the save names the version the form was loaded with."""
    session = request_session()
    try:
        program = service.get_program(session, slug)
    except GatewayError as failure:
        return _message("Program not found", failure.message, 404)
    if request.method == "GET":
        fields = service.program_fields(program)
        values = {k: _text(v) for k, v in fields.items() if k != "tiers"}
        rows = [_row(tier) for tier in fields["tiers"]]
        return _form(program, values, rows, {}, version=program.version)
    data, rows, index = _submitted(request.form, creating=False)
    version = _version(request.form.get("version", ""))
    try:
        saved = service.edit_program(session, _actor(), slug, data, version)
    except FieldErrors as failure:
        program = service.get_program(session, slug)
        errors = _errors(failure.fields, index)
        return _form(program, _typed(request.form), rows, errors, 422, version=version)
    except GatewayError as failure:
        if failure.code != "edit_conflict":
            return _message("Not saved", failure.message, failure.status)
        program = service.get_program(session, slug)
        return _form(
            program,
            _typed(request.form),
            rows,
            {},
            409,
            version=version,
            conflict=failure.message,
        )
    arguments: dict[str, Any] = {"slug": slug, "saved": 1}
    if saved.refresh_id is not None:
        arguments["refresh"] = saved.refresh_id
    if not saved.changed:
        arguments["saved"] = "same"
    return redirect(url_for("console.programs_edit", **arguments))


# --- form plumbing -----------------------------------------------------------------------------


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _row(tier: dict[str, Any]) -> dict[str, Any]:
    return {key: _text(tier.get(key)) for key in TIER_KEYS} | {"errors": {}}


def _version(raw: str) -> int:
    # A missing or garbled version can only be a stale form: 0 never matches, so it conflicts.
    return int(raw) if raw.isdigit() and len(raw) < 10 else 0


def _typed(form: MultiDict[str, str]) -> dict[str, str]:
    """What the operator typed, to fill the form again."""
    return {key: form.get(key, "") for key in service.FIELDS if key != "tiers"}


def _submitted(
    form: MultiDict[str, str], *, creating: bool
) -> tuple[dict[str, Any], list[dict[str, Any]], list[int]]:
    """The service's mapping, the tier rows as typed, and the form row of each tier sent."""
    data: dict[str, Any] = {
        key: form.get(key, "") for key in service.FIELDS if key not in ("tiers", "slug")
    }
    if creating:
        data["slug"] = form.get("slug", "")
    indexes = sorted(
        {
            int(match.group(1))
            for key in form
            if (match := _TIER_FIELD.fullmatch(key)) and len(match.group(1)) < 4
        }
    )[:MAX_TIER_ROWS]
    rows: list[dict[str, Any]] = []
    tiers: list[dict[str, str]] = []
    index: list[int] = []
    for number in indexes:
        row = {key: form.get(f"tier-{number}-{key}", "").strip() for key in TIER_KEYS}
        if not row["name"] and not row["threshold"]:
            continue  # an empty row, or a tier whose name and threshold were cleared: removed
        index.append(len(rows))
        rows.append(row | {"errors": {}})
        tiers.append(row)
    data["tiers"] = tiers
    return data, rows, index


def _errors(fields: dict[str, str], index: list[int]) -> dict[str, Any]:
    """Field errors for the template: tier errors move onto their form row."""
    errors: dict[str, Any] = {"tier_rows": {}}
    for key, message in fields.items():
        match = _TIER_ERROR.fullmatch(key)
        if match and int(match.group(1)) < len(index):
            row = errors["tier_rows"].setdefault(index[int(match.group(1))], {})
            row[match.group(2) or "name"] = message
        else:
            errors[key] = message
    return errors


def _form(
    program: Program | None,
    values: dict[str, str],
    rows: list[dict[str, Any]],
    errors: dict[str, Any],
    status: int = 200,
    *,
    version: int | None = None,
    conflict: str | None = None,
) -> ResponseReturnValue:
    for number, row_errors in errors.get("tier_rows", {}).items():
        rows[number]["errors"] = row_errors
    rows = rows + [
        {key: "" for key in TIER_KEYS}
        | {"earn_multiplier": "1", "discount_percent": "0"}
        | {"errors": {}}
        for _ in range(SPARE_TIER_ROWS)
    ]
    views = current_app.view_functions
    refresh = request.args.get("refresh", "")
    page = render_template(
        "console/program_form.html",
        operator=current_operator(),
        program=program,
        values=values,
        tier_rows=rows,
        errors=errors,
        invalid=status == 422,
        version=version,
        conflict=conflict,
        currencies=sorted(service.ISO_4217),
        code_digits=service.CODE_DIGITS,
        totp_period=service.TOTP_PERIOD,
        codes_locked=program is not None
        and service.has_issued_passes(request_session(), program.id),
        saved=request.args.get("saved") if status == 200 else None,
        created=request.args.get("created") == "1" and status == 200,
        refresh_id=int(refresh) if refresh.isdigit() and len(refresh) < 19 else None,
        has_refresh_progress="console.refresh_progress" in views,
        has_branding="console.program_branding" in views,
    )
    return page, status


def _message(title: str, message: str, status: int) -> ResponseReturnValue:
    return render_template(
        "console/message.html", title=title, message=message, operator=current_operator()
    ), status
