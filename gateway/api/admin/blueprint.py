"""The admin API blueprint and its key check: `Authorization: Bearer gwa_...` with a scope."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import ParamSpec

from flask import Blueprint, g, request
from flask.typing import ResponseReturnValue

from gateway.domain.errors import GatewayError
from gateway.models.api_key import ApiKey
from gateway.runtime import request_session
from gateway.services.keep_live.outbox import audit
from gateway.services.operate.api_keys import authenticate, key_not_allowed

P = ParamSpec("P")

bp = Blueprint("admin_api", __name__, url_prefix="/admin/v1")


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
