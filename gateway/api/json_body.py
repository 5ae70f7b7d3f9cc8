"""Reading request bodies: always a JSON object, or a 400 with a code."""

from __future__ import annotations

from typing import Any

from flask import request

from gateway.domain.errors import GatewayError


def json_object() -> dict[str, Any]:
    """The request body as a JSON object; 400 `invalid_json` otherwise."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise GatewayError("invalid_json", "the body must be a JSON object", 400)
    return data
