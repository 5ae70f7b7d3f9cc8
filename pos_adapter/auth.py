"""Bearer terminal keys: every POS call names its till, or gets 401 `unauthorized`.

The hot paths (identify, redemptions) look the terminal up in the same statement as the data
they need; every other endpoint resolves it here, before its handler runs.
"""

from __future__ import annotations

from flask import g, request

from gateway.pos.errors import unauthorized
from gateway.pos.terminals import TerminalContext, authenticate_hash, hash_key
from gateway.runtime import runtime

# The POS body cap (declared and chunked bodies), set by pos_adapter.blueprints.
MAX_BODY_BYTES = 16 * 1024

# Endpoints that authenticate inside their own first statement (see `key_hash`).
JOINED_AUTH_ENDPOINTS: set[str] = set()


def require_terminal() -> None:
    """before_request hook: check `Authorization: Bearer <key>` and resolve the terminal."""
    # The body cap (chunked bodies too) is applied before this hook: gateway.api.body_limits.
    scheme, _, key = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise unauthorized("send the terminal key as `Authorization: Bearer <key>`")
    g.pos_key_hash = hash_key(key.strip())
    if request.endpoint not in JOINED_AUTH_ENDPOINTS:
        current_terminal()


def key_hash() -> str:
    """The SHA-256 of this request's terminal key (the terminal is not looked up yet)."""
    return str(g.pos_key_hash)


def current_terminal() -> TerminalContext:
    """The terminal authenticated for this request (looked up on first use); 401 otherwise."""
    terminal: TerminalContext | None = g.get("pos_terminal")
    if terminal is None:
        with runtime().sessions() as session:
            terminal = authenticate_hash(session, key_hash())
        if terminal is None:
            raise unauthorized()
        g.pos_terminal = terminal
    return terminal
