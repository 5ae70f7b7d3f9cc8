"""The admin API blueprint and its common parts: the key check (`Authorization: Bearer gwa_...`
with a scope), the actor of the audit trail, checked JSON bodies and page parameters."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import wraps
from typing import Any, ParamSpec

from flask import Blueprint, g, request
from flask.typing import ResponseReturnValue

from gateway.api.json_body import json_object
from gateway.domain.errors import GatewayError
from gateway.models.api_key import ApiKey
from gateway.runtime import request_session
from gateway.services.keep_live.outbox import audit
from gateway.services.operate.api_keys import authenticate, key_not_allowed
from gateway.services.operate.field_errors import Collector

P = ParamSpec("P")

bp = Blueprint("admin_api", __name__, url_prefix="/admin/v1")

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


def _unauthorized() -> GatewayError:
    return GatewayError(
        "unauthorized",
        "send a live admin API key as `Authorization: Bearer gwa_...`",
        401,
        headers={"WWW-Authenticate": 'Bearer realm="admin"'},
    )


def scoped(
    *scopes: str,
) -> Callable[[Callable[P, ResponseReturnValue]], Callable[P, ResponseReturnValue]]:
    """Allow keys whose scope is one of `scopes`; 401 without a live key, 403 (audited) beyond
    the scope."""

    def decorate(view: Callable[P, ResponseReturnValue]) -> Callable[P, ResponseReturnValue]:
        @wraps(view)
        def guarded(*args: P.args, **kwargs: P.kwargs) -> ResponseReturnValue:
            header = request.headers.get("Authorization", "")
            kind, _, secret = header.partition(" ")
            session = request_session()
            key = authenticate(session, secret.strip()) if kind.lower() == "bearer" else None
            if key is None:
                raise _unauthorized()
            if key.scope not in scopes:
                audit(
                    session,
                    f"apikey:{key.id}",
                    "admin_api.forbidden",
                    f"{request.method} {request.path}"[:80],
                    scope=key.scope,
                    allowed=list(scopes),
                )
                session.commit()
                raise key_not_allowed(key.scope)
            g.api_key = key
            return view(*args, **kwargs)

        return guarded

    return decorate


def api_actor() -> str:
    """How the audit trail names the key of this request."""
    key: ApiKey = g.api_key
    return f"apikey:{key.id}"


# A field's accepted JSON types: str, int, float (int accepted too), bool, dict, list.
FieldType = type | tuple[type, ...]

_TYPE_NAMES = {str: "text", int: "a whole number", float: "a number", bool: "true or false"}
_TYPE_NAMES |= {dict: "an object", list: "a list", type(None): "null"}


def _accepts(kinds: FieldType, value: Any) -> bool:
    accepted = kinds if isinstance(kinds, tuple) else (kinds,)
    if isinstance(value, bool):  # JSON true is not a number
        return bool in accepted
    if isinstance(value, int) and float in accepted:
        return True
    return any(isinstance(value, kind) for kind in accepted if kind is not bool)


def body_fields(
    required: Mapping[str, FieldType], optional: Mapping[str, FieldType] | None = None
) -> dict[str, Any]:
    """The JSON object body, checked: every required field present, no unknown field, each of
    its type. One 422 `validation_error` lists every problem (400 `invalid_json` when the body
    is not an object). Returns only the fields that were sent."""
    body = json_object()
    known = {**required, **(optional or {})}
    problems = Collector()
    for name in required:
        if name not in body:
            problems.add(name, "This field is required.")
    for name, value in body.items():
        kinds = known.get(name)
        if kinds is None:
            problems.add(name, "Unknown field.")
        elif not _accepts(kinds, value):
            accepted = kinds if isinstance(kinds, tuple) else (kinds,)
            problems.add(
                name,
                "Must be " + " or ".join(_TYPE_NAMES.get(k, k.__name__) for k in accepted) + ".",
            )
    problems.raise_if_any()
    return body


@dataclass(frozen=True, slots=True)
class Page:
    """Which slice of a list to answer: `?limit=` (1..MAX_LIMIT) and `?offset=` (0..)."""

    limit: int
    offset: int


def page_params() -> Page:
    """The page of this request's query; 422 `validation_error` naming a bad parameter."""
    problems = Collector()
    values: dict[str, int] = {}
    for name, default, low, high in (
        ("limit", DEFAULT_LIMIT, 1, MAX_LIMIT),
        ("offset", 0, 0, 10_000_000),
    ):
        raw = request.args.get(name)
        if raw is None:
            values[name] = default
            continue
        if not raw.isdigit() or not low <= int(raw) <= high:
            problems.add(name, f"Must be a whole number from {low} to {high}.")
            continue
        values[name] = int(raw)
    problems.raise_if_any()
    return Page(values["limit"], values["offset"])


def page_answer(items: Sequence[Any], page: Page, total: int) -> dict[str, Any]:
    """A list answer: {"items", "limit", "offset", "total"}."""
    return {"items": list(items), "limit": page.limit, "offset": page.offset, "total": total}
