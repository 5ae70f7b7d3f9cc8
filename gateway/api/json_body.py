"""Reading request bodies: always a JSON object, or a 400/422 with a code."""

from __future__ import annotations

from typing import Any

from flask import request

from gateway.domain.errors import GatewayError, validation_error

# Far deeper than any request of ours; a deeper body is refused before anything walks it.
MAX_DEPTH = 32


def json_object() -> dict[str, Any]:
    """The request body as a JSON object; 400 `invalid_json` otherwise."""
    data = json_or_none()
    if not isinstance(data, dict):
        raise GatewayError("invalid_json", "the body must be a JSON object", 400)
    return data


def json_or_none() -> Any:
    """The parsed JSON body, or None when it is not JSON at all.

    400 `invalid_json` when nested deeper than MAX_DEPTH, 422 `validation_error` when a string
    holds a NUL character (no database text column can store one).
    """
    try:
        data = request.get_json(silent=True)
    except RecursionError:
        raise _too_deep() from None
    _check_values(data)
    return data


def _too_deep() -> GatewayError:
    return GatewayError("invalid_json", f"the JSON is nested deeper than {MAX_DEPTH} levels", 400)


def _check_values(data: Any) -> None:
    # Iterative, so a deep body cannot exhaust the stack here either.
    pending: list[tuple[Any, str, int]] = [(data, "", 0)]
    while pending:
        value, path, depth = pending.pop()
        if depth > MAX_DEPTH:
            raise _too_deep()
        if isinstance(value, str):
            if "\x00" in value:
                raise validation_error(path or "body", "must not contain NUL characters")
        elif isinstance(value, dict):
            for key, item in value.items():
                where = f"{path}.{key}" if path else str(key)
                if "\x00" in key:
                    raise validation_error(path or "body", "names must not contain NUL characters")
                pending.append((item, where, depth + 1))
        elif isinstance(value, list):
            pending.extend((item, f"{path}[{i}]", depth + 1) for i, item in enumerate(value))
