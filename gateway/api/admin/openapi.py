"""/admin/v1/openapi.json: the admin API described by the modules that implement it."""

from __future__ import annotations

from typing import Any

from flask import jsonify
from flask.typing import ResponseReturnValue

from gateway.api.admin.blueprint import bp

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


def describe(path: str, method: str, operation: dict[str, Any]) -> None:
    """Add one operation (path relative to /admin/v1, e.g. `/programs/{slug}`)."""
    PATHS.setdefault(path, {})[method.lower()] = operation


def document() -> dict[str, Any]:
    """The whole OpenAPI 3.1 document."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Wallet gateway admin API",
            "version": "1",
            "description": "Programs, rewards, stores and tills, members and cards. Every call "
            "needs `Authorization: Bearer gwa_...`; the key's scope (admin, marketer, support) "
            "allows what the console role of the same name allows.",
        },
        "servers": [{"url": "/admin/v1"}],
        "security": [{"apiKey": []}],
        "paths": dict(sorted(PATHS.items())),
        "components": {
            "securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer"}},
            "schemas": SCHEMAS,
        },
    }


@bp.get("/openapi.json")
def openapi_json() -> ResponseReturnValue:
    """The document (public: it holds no data)."""
    return jsonify(document())
