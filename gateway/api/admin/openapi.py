"""/admin/v1/openapi.json: the admin API described by the modules that implement it.

Each area module calls `describe(path, method, operation)` at import; the helpers below build the
usual parts of an operation (JSON request and answer, page parameters, the error answers)."""

from __future__ import annotations

from typing import Any

from flask import jsonify
from flask.typing import ResponseReturnValue

from gateway.api.admin.blueprint import DEFAULT_LIMIT, MAX_LIMIT, bp

# Filled by each area module at import: {path: {method: operation}}.
PATHS: dict[str, dict[str, Any]] = {}
SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                    "field": {"type": "string"},
                    "fields": {"type": "object", "additionalProperties": {"type": "string"}},
                },
            }
        },
    }
}


def _error(description: str, **extra: Any) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        **extra,
    }


# Shared error answers, referenced by status through `errors(...)`.
RESPONSES: dict[str, Any] = {
    "BadRequest": _error("`invalid_json`: the body is not a JSON object."),
    "Unauthorized": _error(
        "`unauthorized`: no key, an unknown key or a revoked key.",
        headers={
            "WWW-Authenticate": {
                "description": '`Bearer realm="admin"`',
                "schema": {"type": "string"},
            }
        },
    ),
    "Forbidden": _error("`forbidden`: the key's scope does not allow this (audited)."),
    "NotFound": _error("The thing named in the path does not exist."),
    "Conflict": _error("The change conflicts with the current state (the code says which)."),
    "ValidationError": _error(
        "`validation_error`: `fields` maps each bad field to a message for operators."
    ),
}
_BY_STATUS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    409: "Conflict",
    422: "ValidationError",
}
PARAMETERS: dict[str, Any] = {
    "Limit": {
        "name": "limit",
        "in": "query",
        "description": f"How many items (default {DEFAULT_LIMIT}).",
        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
    },
    "Offset": {
        "name": "offset",
        "in": "query",
        "description": "How many items to skip (default 0).",
        "schema": {"type": "integer", "minimum": 0},
    },
}
PAGE_PARAMETERS: list[dict[str, Any]] = [
    {"$ref": "#/components/parameters/Limit"},
    {"$ref": "#/components/parameters/Offset"},
]


def describe(path: str, method: str, operation: dict[str, Any]) -> None:
    """Add one operation (path relative to /admin/v1, e.g. `/programs/{slug}`)."""
    PATHS.setdefault(path, {})[method.lower()] = operation


def errors(*statuses: int) -> dict[str, Any]:
    """The error answers of an operation: 401 and 403 always (every operation needs a key with
    a scope), plus `statuses` (400, 404, 409, 422)."""
    wanted = sorted({401, 403, *statuses})
    return {
        str(status): {"$ref": f"#/components/responses/{_BY_STATUS[status]}"} for status in wanted
    }


def json_request(schema: dict[str, Any]) -> dict[str, Any]:
    """A required JSON request body of `schema`."""
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def json_answer(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    """A JSON answer of `schema`."""
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def page_of(item: dict[str, Any]) -> dict[str, Any]:
    """The schema of a page of items (see blueprint.page_answer)."""
    return {
        "type": "object",
        "required": ["items", "limit", "offset", "total"],
        "properties": {
            "items": {"type": "array", "items": item},
            "limit": {"type": "integer"},
            "offset": {"type": "integer"},
            "total": {"type": "integer"},
        },
    }


def document() -> dict[str, Any]:
    """The whole OpenAPI 3.1 document."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Wallet gateway admin API",
            "version": "1",
            "description": "Programs, rewards, stores and tills, members and cards, operators and "
            "API keys. Every call needs `Authorization: Bearer gwa_...`; the key's scope (admin, "
            "marketer, support) allows what the console role of the same name allows. Errors are "
            '`{"error": {"code", "message"}}`; a 422 adds `fields`.',
        },
        "servers": [{"url": "/admin/v1"}],
        "security": [{"apiKey": []}],
        "paths": dict(sorted(PATHS.items())),
        "components": {
            "securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer"}},
            "schemas": SCHEMAS,
            "responses": RESPONSES,
            "parameters": PARAMETERS,
        },
    }


@bp.get("/openapi.json")
def openapi_json() -> ResponseReturnValue:
    """The document (public: it holds no data)."""
    return jsonify(document())


describe(
    "/openapi.json",
    "get",
    {
        "summary": "This document",
        "operationId": "getOpenApi",
        "tags": ["meta"],
        "security": [],
        "responses": {"200": json_answer("The OpenAPI 3.1 document.", {"type": "object"})},
    },
)
