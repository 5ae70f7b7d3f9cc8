"""Bearer terminal keys: every POS call names its till, or gets 401 `unauthorized`."""

from __future__ import annotations

from typing import cast

from flask import g, request

from gateway.domain.errors import GatewayError
from gateway.runtime import request_session
from gateway.services.terminals import TerminalContext, authenticate

MAX_BODY_BYTES = 16 * 1024


def _unauthorized(message: str) -> GatewayError:
    return GatewayError("unauthorized", message, 401, headers={"WWW-Authenticate": "Bearer"})


def require_terminal() -> None:
    """before_request hook: resolve the terminal from `Authorization: Bearer <key>`."""
    if (request.content_length or 0) > MAX_BODY_BYTES:
        raise GatewayError("payload_too_large", "the request body is too large", 413)
    scheme, _, key = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise _unauthorized("send the terminal key as `Authorization: Bearer <key>`")
    terminal = authenticate(request_session(), key.strip())
    if terminal is None:
        raise _unauthorized("unknown or revoked terminal key")
    g.pos_terminal = terminal


def current_terminal() -> TerminalContext:
    """The terminal authenticated for this request."""
    return cast(TerminalContext, g.pos_terminal)
