"""Admin API: API keys (list, create, revoke) and the list of operators; admin scope only."""

from __future__ import annotations

from typing import Any

from flask import jsonify
from flask.typing import ResponseReturnValue

from gateway.api.admin.blueprint import (
    api_actor,
    body_fields,
    bp,
    page_answer,
    page_params,
    scoped,
)
from gateway.api.admin.openapi import (
    PAGE_PARAMETERS,
    describe,
    errors,
    json_answer,
    json_request,
    page_of,
)
from gateway.models.api_key import ApiKey
from gateway.models.base import utcnow
from gateway.models.operator import ROLES
from gateway.runtime import request_session
from gateway.services.console import operators
from gateway.services.operate import api_keys


def key_summary(key: ApiKey) -> dict[str, Any]:
    """What the API shows of a key: never its hash (the secret itself is not kept)."""
    return {
        "id": key.id,
        "name": key.name,
        "scope": key.scope,
        "prefix": key.key_prefix,
        "created_by": key.created_by,
        "created_at": key.created_at.isoformat(),
        "last_used_at": key.last_used_at.isoformat() if key.last_used_at else None,
        "revoked_at": key.revoked_at.isoformat() if key.revoked_at else None,
    }


@bp.get("/api-keys")
@scoped("admin")
def list_keys() -> ResponseReturnValue:
    """Every key, newest first."""
    page = page_params()
    keys = api_keys.list_api_keys(request_session())
    chosen = keys[page.offset : page.offset + page.limit]
    return jsonify(page_answer([key_summary(key) for key in chosen], page, len(keys)))


@bp.post("/api-keys")
@scoped("admin")
def create_key() -> ResponseReturnValue:
    """A new key; the answer holds its secret, which is never shown again."""
    body = body_fields({"name": str, "scope": str})
    created = api_keys.create_api_key(request_session(), api_actor(), body["name"], body["scope"])
    response = jsonify({"key": key_summary(created.key), "secret": created.secret})
    response.headers["Cache-Control"] = "no-store"
    return response, 201


@bp.post("/api-keys/<int:key_id>/revoke")
@scoped("admin")
def revoke_key(key_id: int) -> ResponseReturnValue:
    """Stop a key at once (again: no change)."""
    key = api_keys.revoke_api_key(request_session(), api_actor(), key_id)
    return jsonify(key_summary(key))


@bp.get("/operators")
@scoped("admin")
def list_operators() -> ResponseReturnValue:
    """Every console operator, by e-mail."""
    page = page_params()
    everyone = operators.list_operators(request_session())
    now = utcnow()
    chosen = everyone[page.offset : page.offset + page.limit]
    return jsonify(
        page_answer([operators.operator_summary(item, now) for item in chosen], page, len(everyone))
    )


_WHEN = {"type": ["string", "null"], "format": "date-time"}
_KEY = {
    "type": "object",
    "required": ["id", "name", "scope", "prefix", "created_by", "created_at"],
    "properties": {
        "id": {"type": "integer"},
        "name": {"type": "string"},
        "scope": {"type": "string", "enum": list(ROLES)},
        "prefix": {"type": "string", "description": "The key's first characters, to recognise it."},
        "created_by": {"type": "string", "description": "`operator:ID`, `apikey:ID` or `cli`."},
        "created_at": {"type": "string", "format": "date-time"},
        "last_used_at": {**_WHEN, "description": "Updated at most once a minute."},
        "revoked_at": _WHEN,
    },
}
_OPERATOR = {
    "type": "object",
    "required": ["id", "email", "role", "second_factor", "state", "created_at"],
    "properties": {
        "id": {"type": "integer"},
        "email": {"type": "string"},
        "role": {"type": "string", "enum": list(ROLES)},
        "second_factor": {"type": "boolean"},
        "state": {"type": "string", "enum": ["password_not_set", "locked", "active"]},
        "locked_until": _WHEN,
        "created_at": {"type": "string", "format": "date-time"},
        "last_signin_at": _WHEN,
    },
}
_KEY_ID = {
    "name": "key_id",
    "in": "path",
    "required": True,
    "schema": {"type": "integer"},
}

describe(
    "/api-keys",
    "get",
    {
        "summary": "List API keys",
        "operationId": "listApiKeys",
        "tags": ["api keys"],
        "description": "Scope: admin. Newest first; hashes and secrets are never shown.",
        "parameters": PAGE_PARAMETERS,
        "responses": {"200": json_answer("A page of keys.", page_of(_KEY)), **errors(422)},
    },
)
describe(
    "/api-keys",
    "post",
    {
        "summary": "Create an API key",
        "operationId": "createApiKey",
        "tags": ["api keys"],
        "description": "Scope: admin. The answer holds the secret once; only its hash is kept. "
        "Audited (`api_key.created`).",
        "requestBody": json_request(
            {
                "type": "object",
                "required": ["name", "scope"],
                "additionalProperties": False,
                "properties": {
                    "name": {"type": "string", "minLength": 1, "maxLength": 120},
                    "scope": {"type": "string", "enum": list(ROLES)},
                },
            }
        ),
        "responses": {
            "201": json_answer(
                "The key and its secret (send it as `Authorization: Bearer <secret>`).",
                {
                    "type": "object",
                    "required": ["key", "secret"],
                    "properties": {"key": _KEY, "secret": {"type": "string"}},
                },
            ),
            **errors(400, 422),
        },
    },
)
describe(
    "/api-keys/{key_id}/revoke",
    "post",
    {
        "summary": "Revoke an API key",
        "operationId": "revokeApiKey",
        "tags": ["api keys"],
        "description": "Scope: admin. The key stops at once; revoking a revoked key changes "
        "nothing. Audited (`api_key.revoked`).",
        "parameters": [_KEY_ID],
        "responses": {"200": json_answer("The revoked key.", _KEY), **errors(404)},
    },
)
describe(
    "/operators",
    "get",
    {
        "summary": "List console operators",
        "operationId": "listOperators",
        "tags": ["operators"],
        "description": "Scope: admin. By e-mail; no password hashes or second-factor secrets.",
        "parameters": PAGE_PARAMETERS,
        "responses": {
            "200": json_answer("A page of operators.", page_of(_OPERATOR)),
            **errors(422),
        },
    },
)
