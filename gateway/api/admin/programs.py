"""Admin API: programs (list, create, read, edit with a version). Thin: the operate service
checks every field and owns the transaction, exactly as for the console form and the CLI."""

from __future__ import annotations

from typing import Any

from flask import jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import func, select

from gateway.api.admin.blueprint import (
    api_actor,
    bp,
    page_answer,
    page_params,
    scoped,
)
from gateway.api.admin.openapi import (
    PAGE_PARAMETERS,
    SCHEMAS,
    describe,
    errors,
    json_answer,
    json_request,
    page_of,
)
from gateway.api.json_body import json_object
from gateway.models.program import Program
from gateway.runtime import request_session, runtime
from gateway.services.issue.programs import wallet_ids
from gateway.services.operate import programs
from gateway.services.operate.field_errors import FieldErrors

SCOPES = ("admin", "marketer")


def program_json(program: Program) -> dict[str, Any]:
    """The program as the API answers it: the editable fields plus what an edit needs to know."""
    return {
        **programs.program_fields(program),
        "version": program.version,
        "redemptions_enabled": program.redemptions_enabled,
        "apple_pass_type_id": program.apple_pass_type_id,
        "google_class_id": program.google_class_id,
    }


@bp.get("/programs")
@scoped(*SCOPES)
def list_programs() -> ResponseReturnValue:
    """Programs by name, a page at a time."""
    page = page_params()
    session = request_session()
    rows = session.scalars(
        select(Program).order_by(Program.name, Program.id).limit(page.limit).offset(page.offset)
    )
    total = session.scalar(select(func.count()).select_from(Program)) or 0
    return jsonify(page_answer([program_json(p) for p in rows], page, total))


@bp.post("/programs")
@scoped(*SCOPES)
def create_program() -> ResponseReturnValue:
    """A new program; wallet identifiers come from the gateway's credentials."""
    body = json_object()
    program = programs.create_program(request_session(), wallet_ids(runtime()), api_actor(), body)
    return jsonify({"program": program_json(program)}), 201


@bp.get("/programs/<slug>")
@scoped(*SCOPES)
def get_program(slug: str) -> ResponseReturnValue:
    """One program, with the version an edit must name."""
    return jsonify({"program": program_json(programs.get_program(request_session(), slug))})


@bp.patch("/programs/<slug>")
@scoped(*SCOPES)
def edit_program(slug: str) -> ResponseReturnValue:
    """Change the fields sent, based on `version`; 409 edit_conflict if someone saved first."""
    body = json_object()
    version = body.pop("version", None)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        # Checked with the other fields, so one answer lists every problem.
        problems = {"version": "Send the version the change is based on (a whole number)."}
        try:
            programs.check_fields(body)
        except FieldErrors as failure:
            problems |= failure.fields
        raise FieldErrors(problems)
    saved = programs.edit_program(request_session(), api_actor(), slug, body, version)
    return jsonify(
        {
            "program": program_json(saved.program),
            "changed": list(saved.changed),
            "refresh_id": saved.refresh_id,
        }
    )


# --- OpenAPI ------------------------------------------------------------------------------------

_DECIMAL = {"type": ["string", "number"], "description": "A decimal; a string keeps it exact."}
_TIER = {
    "type": "object",
    "required": ["name", "threshold"],
    "additionalProperties": False,
    "properties": {
        "id": {
            "type": "integer",
            "description": "An existing tier's id: renaming it keeps its members in it.",
        },
        "name": {"type": "string", "minLength": 1, "maxLength": 40},
        "threshold": {
            "type": "integer",
            "minimum": 0,
            "maximum": programs.MAX_THRESHOLD,
            "description": "Lifetime points from which a member is in the tier; one tier at 0.",
        },
        "earn_multiplier": {**_DECIMAL, "description": "0 < m <= 10 (default 1)."},
        "discount_percent": {**_DECIMAL, "description": "0 to 100 (default 0)."},
    },
}
_FIELDS: dict[str, Any] = {
    "slug": {
        "type": "string",
        "pattern": f"^{programs.SLUG.pattern}$",
        "description": "Public id (enrollment links, tills); unique; fixed after creation.",
    },
    "name": {"type": "string", "minLength": 1, "maxLength": 120},
    "organization": {"type": "string", "minLength": 1, "maxLength": 120},
    "points_label": {"type": "string", "minLength": 1, "maxLength": 40},
    "currency": {
        "type": "string",
        "enum": sorted(programs.ISO_4217),
        "description": "ISO 4217; tills' accruals and refunds in another currency are refused.",
    },
    "points_per_currency_unit": {**_DECIMAL, "description": "0 to 1000, 4 decimals."},
    "point_value": {
        **_DECIMAL,
        "description": "What one point is worth in the currency (liability): 0 to 1000.",
    },
    "points_validity_days": {"type": "integer", "minimum": 1, "maximum": 3650},
    "totp_digits": {
        "type": "integer",
        "minimum": programs.CODE_DIGITS[0],
        "maximum": programs.CODE_DIGITS[1],
        "description": "Fixed once the program has issued passes.",
    },
    "totp_period_seconds": {
        "type": "integer",
        "minimum": programs.TOTP_PERIOD[0],
        "maximum": programs.TOTP_PERIOD[1],
        "description": "Fixed once the program has issued passes.",
    },
    "background_color": {"type": "string", "pattern": "^#[0-9a-fA-F]{6}$"},
    "foreground_color": {"type": "string", "pattern": "^#[0-9a-fA-F]{6}$"},
    "label_color": {"type": "string", "pattern": "^#[0-9a-fA-F]{6}$"},
    "terms_url": {"type": "string", "maxLength": 300, "description": "https only; empty: none."},
    "support_url": {"type": "string", "maxLength": 300, "description": "https or mailto."},
    "terms_text": {"type": "string", "maxLength": 2000},
    "tiers": {
        "type": "array",
        "minItems": 1,
        "maxItems": programs.MAX_TIERS,
        "items": _TIER,
        "description": "Every tier (the list replaces the current one).",
    },
}
SCHEMAS["Program"] = {
    "type": "object",
    "properties": {
        **_FIELDS,
        "version": {"type": "integer", "description": "Send it back with an edit."},
        "redemptions_enabled": {"type": "boolean", "description": "The program kill switch."},
        "apple_pass_type_id": {"type": "string"},
        "google_class_id": {"type": "string"},
    },
}
SCHEMAS["ProgramInput"] = {
    "type": "object",
    "required": list(programs.REQUIRED_ON_CREATE),
    "additionalProperties": False,
    "properties": _FIELDS,
}
SCHEMAS["ProgramChange"] = {
    "type": "object",
    "required": ["version"],
    "additionalProperties": False,
    "properties": {
        "version": {"type": "integer", "minimum": 1, "description": "The version it is based on."},
        **{name: schema for name, schema in _FIELDS.items() if name != "slug"},
    },
}
_REF = {"$ref": "#/components/schemas/Program"}
_ONE = {"type": "object", "required": ["program"], "properties": {"program": _REF}}
_SLUG = [{"name": "slug", "in": "path", "required": True, "schema": {"type": "string"}}]

describe(
    "/programs",
    "get",
    {
        "summary": "List programs",
        "operationId": "listPrograms",
        "tags": ["programs"],
        "parameters": PAGE_PARAMETERS,
        "responses": {"200": json_answer("A page of programs.", page_of(_REF)), **errors(422)},
    },
)
describe(
    "/programs",
    "post",
    {
        "summary": "Create a program",
        "description": "Wallet identifiers come from the gateway's credentials. 422 "
        "`validation_error` lists every bad field (a slug already in use included).",
        "operationId": "createProgram",
        "tags": ["programs"],
        "requestBody": json_request({"$ref": "#/components/schemas/ProgramInput"}),
        "responses": {"201": json_answer("The new program.", _ONE), **errors(400, 422)},
    },
)
describe(
    "/programs/{slug}",
    "get",
    {
        "summary": "Read a program",
        "operationId": "getProgram",
        "tags": ["programs"],
        "parameters": _SLUG,
        "responses": {"200": json_answer("The program.", _ONE), **errors(404)},
    },
)
describe(
    "/programs/{slug}",
    "patch",
    {
        "summary": "Edit a program",
        "description": "Only the fields sent change. 409 `edit_conflict` when someone saved "
        "after `version`. A change that shows on passes starts their update: `refresh_id`.",
        "operationId": "editProgram",
        "tags": ["programs"],
        "parameters": _SLUG,
        "requestBody": json_request({"$ref": "#/components/schemas/ProgramChange"}),
        "responses": {
            "200": json_answer(
                "The program after the change.",
                {
                    "type": "object",
                    "required": ["program", "changed", "refresh_id"],
                    "properties": {
                        "program": _REF,
                        "changed": {"type": "array", "items": {"type": "string"}},
                        "refresh_id": {
                            "type": ["integer", "null"],
                            "description": "The pass update started by this change, if any.",
                        },
                    },
                },
            ),
            **errors(400, 404, 409, 422),
        },
    },
)
