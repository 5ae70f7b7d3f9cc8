"""Admin API: a program's rewards (create, edit with a version, retire), the reward kill switch
and the program's "pause all redemptions" switch. Thin: the operate services do the work."""

from __future__ import annotations

from typing import Any

from flask import jsonify
from flask.typing import ResponseReturnValue

from gateway.api.admin.blueprint import api_actor, bp, scoped
from gateway.api.admin.openapi import SCHEMAS, describe
from gateway.api.json_body import json_object
from gateway.runtime import request_session
from gateway.services.operate import kill_switches, rewards
from gateway.services.operate.field_errors import Collector

SCOPES = ("admin", "marketer")


def _body(allowed: tuple[str, ...]) -> dict[str, Any]:
    """The JSON object body; 422 naming every field that is not one of `allowed`."""
    body = json_object()
    problems = Collector()
    for name in body:
        if name not in allowed:
            problems.add(name, "Unknown field.")
    problems.raise_if_any()
    return body


def _reward(reward: Any) -> dict[str, Any]:
    return {"reward": rewards.reward_view(reward)}


@bp.get("/programs/<slug>/rewards")
@scoped(*SCOPES)
def list_rewards(slug: str) -> ResponseReturnValue:
    """The program's rewards (retired ones last) and whether redemptions are paused."""
    session = request_session()
    program = rewards.find_program(session, slug)
    items = [rewards.reward_view(r) for r in rewards.list_rewards(session, slug)]
    return jsonify({"redemptions_enabled": program.redemptions_enabled, "items": items})


@bp.post("/programs/<slug>/rewards")
@scoped(*SCOPES)
def create_reward(slug: str) -> ResponseReturnValue:
    """Add a reward (enabled)."""
    body = _body(rewards.FIELDS)
    reward = rewards.create_reward(request_session(), api_actor(), slug, body)
    return jsonify(_reward(reward)), 201


@bp.get("/programs/<slug>/rewards/<code>")
@scoped(*SCOPES)
def get_reward(slug: str, code: str) -> ResponseReturnValue:
    """One reward, with the version an edit must name."""
    session = request_session()
    reward = rewards.find_reward(session, rewards.find_program(session, slug), code)
    return jsonify(_reward(reward))


@bp.patch("/programs/<slug>/rewards/<code>")
@scoped(*SCOPES)
def edit_reward(slug: str, code: str) -> ResponseReturnValue:
    """Change some fields, based on `version`; 409 edit_conflict if someone saved first."""
    body = _body(("version", *rewards.FIELDS))
    version = body.pop("version", None)
    reward = rewards.edit_reward(request_session(), api_actor(), slug, code, version, body)
    return jsonify(_reward(reward))


@bp.post("/programs/<slug>/rewards/<code>/retire")
@scoped(*SCOPES)
def retire_reward(slug: str, code: str) -> ResponseReturnValue:
    """Stop offering the reward for good (idempotent)."""
    return jsonify(_reward(rewards.retire_reward(request_session(), api_actor(), slug, code)))


@bp.post("/programs/<slug>/rewards/<code>/disable")
@scoped(*SCOPES)
def disable_reward(slug: str, code: str) -> ResponseReturnValue:
    """Kill switch: tills refuse the reward from their next request (idempotent)."""
    session = request_session()
    reward = kill_switches.set_reward_enabled(session, api_actor(), slug, code, False)
    return jsonify(_reward(reward))


@bp.post("/programs/<slug>/rewards/<code>/enable")
@scoped(*SCOPES)
def enable_reward(slug: str, code: str) -> ResponseReturnValue:
    """Switch the reward back on (idempotent; 409 reward_retired for a retired one)."""
    session = request_session()
    reward = kill_switches.set_reward_enabled(session, api_actor(), slug, code, True)
    return jsonify(_reward(reward))


def _switch(slug: str, enabled: bool) -> ResponseReturnValue:
    program = kill_switches.set_redemptions_enabled(request_session(), api_actor(), slug, enabled)
    return jsonify({"program": program.slug, "redemptions_enabled": program.redemptions_enabled})


@bp.post("/programs/<slug>/pause")
@scoped(*SCOPES)
def pause_program(slug: str) -> ResponseReturnValue:
    """Program kill switch: every redemption refused from the tills' next request."""
    return _switch(slug, False)


@bp.post("/programs/<slug>/resume")
@scoped(*SCOPES)
def resume_program(slug: str) -> ResponseReturnValue:
    """Redemptions allowed again."""
    return _switch(slug, True)


# --- OpenAPI ------------------------------------------------------------------------------------

_NULLABLE_INT = {"type": ["integer", "null"]}
_FIELDS: dict[str, Any] = {
    "code": {
        "type": "string",
        "pattern": rewards.CODE_PATTERN.pattern,
        "description": "Public id the tills send as `reward_id`; unique per program; fixed.",
    },
    "name": {"type": "string", "minLength": 1, "maxLength": 120},
    "cost_points": {"type": "integer", "minimum": 1, "maximum": rewards.MAX_COST},
    "stock": {
        **_NULLABLE_INT,
        "minimum": 0,
        "maximum": rewards.MAX_STOCK,
        "description": "Units left; null: unlimited.",
    },
    "per_member_daily_limit": {
        **_NULLABLE_INT,
        "minimum": 1,
        "maximum": rewards.MAX_DAILY_LIMIT,
        "description": "Redemptions per member per day; null: no limit.",
    },
    "min_tier": {
        "type": ["string", "null"],
        "description": "Name of one of the program's tiers; null: every member.",
    },
    "discount_percent": {
        "type": ["number", "null"],
        "minimum": 0,
        "maximum": 100,
        "description": "Discount the till applies when redeemed.",
    },
    "budget_points": {
        **_NULLABLE_INT,
        "minimum": 1,
        "maximum": rewards.MAX_BUDGET,
        "description": "Campaign budget in points (at least the cost); null: no budget.",
    },
}
SCHEMAS["Reward"] = {
    "type": "object",
    "properties": {
        **_FIELDS,
        "spent_points": {"type": "integer", "description": "Budget taken by redemptions."},
        "budget_left_points": _NULLABLE_INT,
        "enabled": {"type": "boolean", "description": "The reward's kill switch."},
        "retired": {"type": "boolean"},
        "retired_at": {"type": ["string", "null"], "format": "date-time"},
        "version": {"type": "integer", "description": "Send it back with an edit."},
    },
}
SCHEMAS["RewardInput"] = {
    "type": "object",
    "required": ["code", "name", "cost_points"],
    "additionalProperties": False,
    "properties": _FIELDS,
}
SCHEMAS["RewardChange"] = {
    "type": "object",
    "required": ["version"],
    "additionalProperties": False,
    "properties": {
        "version": {"type": "integer", "description": "The version the edit is based on."},
        **{name: schema for name, schema in _FIELDS.items() if name != "code"},
    },
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


_ONE = {"type": "object", "required": ["reward"], "properties": {"reward": _ref("Reward")}}
_ERROR = _json(_ref("Error"))


def _errors(*codes: tuple[int, str]) -> dict[str, Any]:
    answers = {
        "401": {"description": "No live admin API key.", **_ERROR},
        "403": {"description": "The key's scope does not allow this (audited).", **_ERROR},
    }
    for status, text in codes:
        answers[str(status)] = {"description": text, **_ERROR}
    return answers


_SLUG = {"name": "slug", "in": "path", "required": True, "schema": {"type": "string"}}
_CODE = {"name": "code", "in": "path", "required": True, "schema": {"type": "string"}}
_NOT_FOUND = (404, "`not_found`: no such program (or reward).")
_RETIRED = (409, "`reward_retired`: the reward was retired.")

describe(
    "/programs/{slug}/rewards",
    "get",
    {
        "summary": "List the program's rewards",
        "tags": ["rewards"],
        "parameters": [_SLUG],
        "responses": {
            "200": {
                "description": "Offered rewards by cost, then retired ones.",
                **_json(
                    {
                        "type": "object",
                        "properties": {
                            "redemptions_enabled": {"type": "boolean"},
                            "items": {"type": "array", "items": _ref("Reward")},
                        },
                    }
                ),
            },
            **_errors(_NOT_FOUND),
        },
    },
)
describe(
    "/programs/{slug}/rewards",
    "post",
    {
        "summary": "Create a reward",
        "tags": ["rewards"],
        "parameters": [_SLUG],
        "requestBody": {"required": True, **_json(_ref("RewardInput"))},
        "responses": {
            "201": {"description": "Created (enabled).", **_json(_ONE)},
            "400": {"description": "`invalid_json`: the body is not a JSON object.", **_ERROR},
            **_errors(
                _NOT_FOUND,
                (422, "`validation_error`: `fields` names every bad field (code taken too)."),
            ),
        },
    },
)
describe(
    "/programs/{slug}/rewards/{code}",
    "get",
    {
        "summary": "One reward",
        "tags": ["rewards"],
        "parameters": [_SLUG, _CODE],
        "responses": {"200": {"description": "The reward.", **_json(_ONE)}, **_errors(_NOT_FOUND)},
    },
)
describe(
    "/programs/{slug}/rewards/{code}",
    "patch",
    {
        "summary": "Edit a reward",
        "description": "Only the fields sent change. `version` is the reward's version the edit "
        "is based on: when someone saved since, the answer is 409 `edit_conflict` and nothing "
        "changes.",
        "tags": ["rewards"],
        "parameters": [_SLUG, _CODE],
        "requestBody": {"required": True, **_json(_ref("RewardChange"))},
        "responses": {
            "200": {"description": "Saved; the reward with its new version.", **_json(_ONE)},
            "400": {"description": "`invalid_json`: the body is not a JSON object.", **_ERROR},
            **_errors(
                _NOT_FOUND,
                (
                    409,
                    "`edit_conflict`: saved by someone else since `version`; or `reward_retired`.",
                ),
                (422, "`validation_error`: `fields` names every bad field."),
            ),
        },
    },
)
for _action, _summary, _extra in (
    ("retire", "Retire a reward: never offered again, kept for history (idempotent)", ()),
    ("disable", "Kill switch off: tills refuse the reward from their next request", ()),
    ("enable", "Kill switch on again", (_RETIRED,)),
):
    describe(
        f"/programs/{{slug}}/rewards/{{code}}/{_action}",
        "post",
        {
            "summary": _summary,
            "tags": ["rewards"],
            "parameters": [_SLUG, _CODE],
            "responses": {
                "200": {"description": "The reward as it is now.", **_json(_ONE)},
                **_errors(_NOT_FOUND, *_extra),
            },
        },
    )
for _action, _summary in (
    ("pause", "Pause all redemptions of the program (kill switch; accruals go on)"),
    ("resume", "Resume redemptions"),
):
    describe(
        f"/programs/{{slug}}/{_action}",
        "post",
        {
            "summary": _summary,
            "tags": ["rewards"],
            "parameters": [_SLUG],
            "responses": {
                "200": {
                    "description": "The program's switch as it is now (idempotent).",
                    **_json(
                        {
                            "type": "object",
                            "properties": {
                                "program": {"type": "string"},
                                "redemptions_enabled": {"type": "boolean"},
                            },
                        }
                    ),
                },
                **_errors((404, "`not_found`: no such program.")),
            },
        },
    )
