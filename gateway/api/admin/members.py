"""Admin API: find members, read a member's card page, adjust points, revoke, replace, unlock,
close a membership. Scopes admin and support. Thin: the operate and issue services do the work.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify, request
from flask.typing import ResponseReturnValue

from gateway.api.admin.blueprint import api_actor, body_fields, bp, scoped
from gateway.api.admin.openapi import SCHEMAS, describe
from gateway.domain.errors import GatewayError
from gateway.runtime import request_session, runtime
from gateway.services.issue.card_admin import card_by_number, replace_card, revoke_card, unlock_card
from gateway.services.operate.field_errors import FieldErrors
from gateway.services.operate.member_erasure import erase_member
from gateway.services.operate.members import (
    card_in_program,
    member_view,
    program_by_slug,
    search_members,
)
from gateway.services.operate.point_adjustments import adjust_points, valid_request_id

SCOPES = ("admin", "support")
CARD = "/programs/<slug>/cards/<number>"


@bp.get("/programs/<slug>/members")
@scoped(*SCOPES)
def find_members(slug: str) -> ResponseReturnValue:
    """Members matching `q`: an e-mail, a phone (+country code), a card or legacy number."""
    session = request_session()
    hits = search_members(session, program_by_slug(session, slug), request.args.get("q", ""))
    return jsonify({"items": [hit.as_json() for hit in hits]})


def _before() -> int | None:
    raw = request.args.get("before")
    if raw is None:
        return None
    if not raw.isdigit() or len(raw) > 18:
        raise FieldErrors({"before": "Must be the `next_before` of the previous page."})
    return int(raw)


@bp.get(CARD)
@scoped(*SCOPES)
def card_page(slug: str, number: str) -> ResponseReturnValue:
    """The member page of a card; `?before=` pages through older ledger entries."""
    session = request_session()
    before = _before()
    view = member_view(session, card_in_program(session, slug, number), before=before)
    return jsonify(view.as_json())


def _view(slug: str, number: str) -> dict[str, Any]:
    session = request_session()
    return member_view(session, card_in_program(session, slug, number)).as_json()


@bp.post(f"{CARD}/points")
@scoped(*SCOPES)
def adjust(slug: str, number: str) -> ResponseReturnValue:
    """Add or take away points with a reason, once per Idempotency-Key."""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        raise GatewayError(
            "idempotency_key_missing",
            "send an Idempotency-Key header (a new random value per adjustment; the same value "
            "on a retry)",
            400,
        )
    if not valid_request_id(key):
        raise GatewayError(
            "idempotency_key_invalid",
            "the Idempotency-Key must be 8 to 80 of A-Z a-z 0-9 . _ : -",
            400,
        )
    body = body_fields({"points": int, "reason": str})
    session = request_session()
    card = card_by_number(session, number, slug)
    result = adjust_points(session, card, body["points"], body["reason"], key, api_actor())
    return jsonify({"adjustment": result.as_json()}), 200 if result.repeated else 201


@bp.post(f"{CARD}/revoke")
@scoped(*SCOPES)
def revoke(slug: str, number: str) -> ResponseReturnValue:
    """Revoke the card (idempotent: `changed` is false when it already was)."""
    session = request_session()
    changed = revoke_card(session, runtime(), card_by_number(session, number, slug), api_actor())
    return jsonify({"changed": changed, "card": _view(slug, number)["card"]})


@bp.post(f"{CARD}/replace")
@scoped(*SCOPES)
def replace(slug: str, number: str) -> ResponseReturnValue:
    """New passes for the card; the old ones stop. The links also go to the member."""
    session = request_session()
    links = replace_card(session, runtime(), card_by_number(session, number, slug), api_actor())
    return jsonify(
        {
            "card": _view(slug, number)["card"],
            "links": {"apple_pkpass_url": links.pkpass_url, "google_save_url": links.save_url},
        }
    )


@bp.post(f"{CARD}/unlock")
@scoped(*SCOPES)
def unlock(slug: str, number: str) -> ResponseReturnValue:
    """Lift the card's scan lock (`changed` is false when it was not locked)."""
    session = request_session()
    changed = unlock_card(session, card_by_number(session, number, slug), api_actor())
    return jsonify({"changed": changed, "card": _view(slug, number)["card"]})


@bp.post(f"{CARD}/erase")
@scoped(*SCOPES)
def erase(slug: str, number: str) -> ResponseReturnValue:
    """Close the membership and erase personal data; the body must be {"confirm": true}."""
    body = body_fields({"confirm": bool})
    if body["confirm"] is not True:
        raise FieldErrors({"confirm": "Send true to confirm: erasing cannot be undone."})
    session = request_session()
    result = erase_member(session, runtime(), card_by_number(session, number, slug), api_actor())
    return jsonify({"changed": not result.already, "member": _view(slug, number)["member"]})


# --- OpenAPI ------------------------------------------------------------------------------------


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


_ERROR = _json(_ref("Error"))
_WHEN = {"type": ["string", "null"], "format": "date-time"}
_TEXT = {"type": ["string", "null"]}
SCHEMAS["MemberHit"] = {
    "type": "object",
    "properties": {
        "member_id": {"type": "integer"},
        "card_number": {"type": "string"},
        "name": {"type": "string"},
        "email": _TEXT,
        "phone": _TEXT,
        "tier": {"type": "string"},
        "balance": {"type": "integer"},
        "card_status": {"type": "string", "enum": ["active", "revoked"]},
        "closed": {"type": "boolean", "description": "Membership closed, personal data erased."},
        "matched_by": {"enum": ["email", "phone", "card_number", "legacy_number"]},
    },
}
SCHEMAS["Card"] = {
    "type": "object",
    "properties": {
        "number": {"type": "string"},
        "legacy_number": _TEXT,
        "status": {"type": "string", "enum": ["active", "revoked"]},
        "locked_until": _WHEN,
    },
}
SCHEMAS["MemberPage"] = {
    "type": "object",
    "properties": {
        "program": {"type": "string"},
        "member": {
            "type": "object",
            "properties": {
                "id": {"type": "integer"},
                "crm_id": {"type": "string"},
                "name": {"type": "string"},
                "email": _TEXT,
                "phone": _TEXT,
                "locale": {"type": "string"},
                "tier": {"type": "string"},
                "discount_percent": {"type": "string"},
                "joined_at": _WHEN,
                "closed_at": _WHEN,
            },
        },
        "balance": {
            "type": "object",
            "properties": {
                name: {"type": "integer"} for name in ("points", "held", "available", "lifetime")
            },
        },
        "card": _ref("Card"),
        "passes": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "wallet": {"enum": ["apple", "google"]},
                    "serial": {"type": "string"},
                    "state": {
                        "type": "string",
                        "description": "Apple: installed / not installed; Google: queued, "
                        "inserted, saved or deleted.",
                    },
                    "apple_devices": {"type": "integer"},
                    "last_used_at": {**_WHEN, "description": "Its latest code accepted."},
                    "updated_at": _WHEN,
                },
            },
        },
        "consents": {"type": "array", "items": {"type": "object"}},
        "ledger": {
            "type": "object",
            "properties": {
                "entries": {"type": "array", "items": {"type": "object"}},
                "next_before": {
                    "type": ["integer", "null"],
                    "description": "Pass as `?before=` for older entries; null: no more.",
                },
            },
        },
        "audit": {"type": "array", "items": {"type": "object"}},
    },
}
SCHEMAS["Adjustment"] = {
    "type": "object",
    "properties": {
        "reference": {"type": "string"},
        "card_number": {"type": "string"},
        "points": {"type": "integer"},
        "reason": {"type": "string"},
        "balance": {
            "type": "object",
            "properties": {"points": {"type": "integer"}, "held": {"type": "integer"}},
        },
        "repeated": {"type": "boolean", "description": "This Idempotency-Key was applied before."},
    },
}


def _errors(*codes: tuple[int, str]) -> dict[str, Any]:
    answers = {
        "401": {"description": "No live admin API key.", **_ERROR},
        "403": {"description": "The key's scope does not allow this (audited).", **_ERROR},
        "404": {"description": "`not_found`: no such program or card.", **_ERROR},
    }
    for status, text in codes:
        answers[str(status)] = {"description": text, **_ERROR}
    return answers


def _path(name: str, description: str) -> dict[str, Any]:
    schema = {"type": "string"}
    return {
        "name": name,
        "in": "path",
        "required": True,
        "schema": schema,
        "description": description,
    }


_SLUG = _path("slug", "The program's slug.")
_NUMBER = _path("number", "The card number (the page also accepts the CRM's legacy number).")
_CARD_PATH = "/programs/{slug}/cards/{number}"


def _ok(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, **_json(schema)}


describe(
    "/programs/{slug}/members",
    "get",
    {
        "summary": "Find members",
        "description": "An exact, indexed lookup: an e-mail address, a phone number in "
        "international form (+country code), a card number or the CRM's legacy number.",
        "tags": ["members"],
        "parameters": [
            _SLUG,
            {"name": "q", "in": "query", "required": True, "schema": {"type": "string"}},
        ],
        "responses": {
            "200": _ok(
                "Matching members (at most 20).",
                {
                    "type": "object",
                    "properties": {"items": {"type": "array", "items": _ref("MemberHit")}},
                },
            ),
            **_errors((422, "`validation_error` (field `q`): empty, too long or a bad e-mail.")),
        },
    },
)
describe(
    _CARD_PATH,
    "get",
    {
        "summary": "A member's card page",
        "description": "Contact, tier, balance, passes, consents, a page of the ledger (newest "
        "first) and the audit trail of the member, the card and the points account.",
        "tags": ["members"],
        "parameters": [
            _SLUG,
            _NUMBER,
            {"name": "before", "in": "query", "schema": {"type": "integer"}},
        ],
        "responses": {
            "200": _ok("The page.", _ref("MemberPage")),
            **_errors((422, "`validation_error` (field `before`).")),
        },
    },
)
describe(
    f"{_CARD_PATH}/points",
    "post",
    {
        "summary": "Adjust points",
        "description": "Adds (positive) or takes away (negative) points with a reason, exactly "
        "once per `Idempotency-Key`: a retry answers the first result (200, `repeated`).",
        "tags": ["members"],
        "parameters": [
            _SLUG,
            _NUMBER,
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": True,
                "schema": {"type": "string", "pattern": "^[A-Za-z0-9._:-]{8,80}$"},
            },
        ],
        "requestBody": {
            "required": True,
            **_json(
                {
                    "type": "object",
                    "required": ["points", "reason"],
                    "additionalProperties": False,
                    "properties": {
                        "points": {"type": "integer", "minimum": -1_000_000, "maximum": 1_000_000},
                        "reason": {"type": "string", "minLength": 1, "maxLength": 200},
                    },
                }
            ),
        },
        "responses": {
            "201": _ok(
                "Applied.", {"type": "object", "properties": {"adjustment": _ref("Adjustment")}}
            ),
            "200": _ok(
                "Applied before with this key: the first result.",
                {"type": "object", "properties": {"adjustment": _ref("Adjustment")}},
            ),
            "400": {
                "description": "`invalid_json`, `idempotency_key_missing` or "
                "`idempotency_key_invalid`.",
                **_ERROR,
            },
            **_errors(
                (
                    409,
                    "`insufficient_points` (more than balance minus held), `request_reused` "
                    "(key used for another adjustment) or `member_closed`; nothing changed.",
                ),
                (422, "`validation_error`: `fields` names every bad field."),
            ),
        },
    },
)
_CARD_ANSWER = {
    "type": "object",
    "properties": {"changed": {"type": "boolean"}, "card": _ref("Card")},
}
for _action, _summary, _text in (
    (
        "revoke",
        "Revoke a card",
        "Both passes die at once: the Apple web-service token, codes and download link are "
        "refused, the Google object turns INACTIVE, the till answers `card_revoked`, the CRM "
        "gets `card.revoked`. Idempotent (`changed` false the second time).",
    ),
    (
        "unlock",
        "Unlock a card",
        "Lifts the scan lock set after too many wrong codes (`changed` false if not locked).",
    ),
):
    describe(
        f"{_CARD_PATH}/{_action}",
        "post",
        {
            "summary": _summary,
            "description": _text,
            "tags": ["members"],
            "parameters": [_SLUG, _NUMBER],
            "responses": {"200": _ok("Done.", _CARD_ANSWER), **_errors()},
        },
    )
describe(
    f"{_CARD_PATH}/replace",
    "post",
    {
        "summary": "Replace a card (lost phone)",
        "description": "Same member, number and balance; new pass serials, code secrets and "
        "Apple token. The old passes, their codes and links stop; the old Google object turns "
        "INACTIVE. The new links are sent to the member's verified e-mail or phone and answered "
        "here (they are bearer links: hand them only to the member).",
        "tags": ["members"],
        "parameters": [_SLUG, _NUMBER],
        "responses": {
            "200": _ok(
                "Replaced.",
                {
                    "type": "object",
                    "properties": {
                        "card": _ref("Card"),
                        "links": {
                            "type": "object",
                            "properties": {
                                "apple_pkpass_url": {"type": "string"},
                                "google_save_url": {"type": "string"},
                            },
                        },
                    },
                },
            ),
            **_errors((409, "`member_closed`: the membership was closed.")),
        },
    },
)
describe(
    f"{_CARD_PATH}/erase",
    "post",
    {
        "summary": "Close the membership and erase personal data",
        "description": "E-mail, phone and name are erased; ledger sums, consent records and the "
        "audit trail stay; the card is revoked; the CRM gets `member.closed`. Idempotent.",
        "tags": ["members"],
        "parameters": [_SLUG, _NUMBER],
        "requestBody": {
            "required": True,
            **_json(
                {
                    "type": "object",
                    "required": ["confirm"],
                    "additionalProperties": False,
                    "properties": {"confirm": {"const": True}},
                }
            ),
        },
        "responses": {
            "200": _ok(
                "Closed (`changed` false when it already was).",
                {
                    "type": "object",
                    "properties": {"changed": {"type": "boolean"}, "member": {"type": "object"}},
                },
            ),
            "400": {"description": "`invalid_json`: the body is not a JSON object.", **_ERROR},
            **_errors((422, "`validation_error`: `confirm` must be true.")),
        },
    },
)
