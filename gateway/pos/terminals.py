"""Terminals at the point of sale: keys, authenticating a till by its bearer key, last seen.

Operators manage stores and tills through gateway.services.operate.stores; the functions
`create_store`, `create_terminal` and `revoke_terminal` here are kept as short forms of those
services (actor `cli`) for scripts, benchmarks and tests.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, String, and_, bindparam, or_, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from gateway.domain.errors import GatewayError, not_found
from gateway.models.base import utcnow
from gateway.models.pos import Store, Terminal
from gateway.pos.rows import Record

KEY_PREFIX = "gwt_"
PREFIX_LENGTH = 12  # "gwt_" + 8 characters: enough for an operator to name a key
# A till's last-seen time is written at most this often (not a write per POS request).
SEEN_GRANULARITY = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class TerminalContext:
    """The authenticated till: its id, its store, the store's program, and when it was last seen
    (as read with it, so deciding whether to write it costs no query)."""

    terminal_id: int
    store_id: int
    store_code: str
    program_id: int
    locked_until: datetime | None
    last_seen_at: datetime | None

    @property
    def actor(self) -> str:
        """How the audit trail names this till."""
        return f"terminal:{self.terminal_id}"

    def seen_due(self, now: datetime) -> bool:
        """Whether this request should write the last-seen time (at most once a minute)."""
        return self.last_seen_at is None or now - self.last_seen_at >= SEEN_GRANULARITY


def hash_key(key: str) -> str:
    """SHA-256 hex of a terminal key (keys are high-entropy, so no slow hash is needed)."""
    return hashlib.sha256(key.encode()).hexdigest()


def new_key() -> str:
    """A fresh terminal key with a recognisable prefix."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def create_store(session: Session, code: str, name: str, program_slug: str) -> Store:
    """A new store of a program (commits); see services.operate.stores.create_store."""
    from gateway.services.operate.stores import create_store as create

    return create(session, "cli", {"code": code, "name": name, "program": program_slug})


def create_terminal(session: Session, store_code: str, name: str = "") -> tuple[Terminal, str]:
    """A new till of a store and its key, shown once (commits); see services.operate.stores."""
    from gateway.services.operate.stores import create_till

    created = create_till(session, "cli", store_code, name)
    return created.terminal, created.key


def revoke_terminal(session: Session, id_or_prefix: str) -> Terminal:
    """Revoke a till by id or key prefix (commits); see services.operate.stores.revoke_till."""
    from gateway.services.operate.stores import revoke_till

    terminal = terminal_by_id_or_prefix(session, id_or_prefix)
    return revoke_till(session, "cli", terminal.id)


def terminal_by_id_or_prefix(session: Session, id_or_prefix: str) -> Terminal:
    """The one terminal named by its id or its key prefix (not_found / ambiguous otherwise)."""
    conditions = [Terminal.key_prefix == id_or_prefix]
    if id_or_prefix.isdigit():
        conditions.append(Terminal.id == int(id_or_prefix))
    matches = list(session.scalars(select(Terminal).where(or_(*conditions))))
    if not matches:
        raise not_found(f"terminal {id_or_prefix!r}")
    if len(matches) > 1:
        raise GatewayError("ambiguous", f"{id_or_prefix!r} names several terminals", 409)
    return matches[0]


# The terminal's columns, first in every statement that authenticates a till (the hot paths
# join them with what they need, so a POS call costs no separate round trip for its key).
TERMINAL = Record(
    TerminalContext,
    {
        "terminal_id": Terminal.id,
        "store_id": Terminal.store_id,
        "store_code": Store.code,
        "program_id": Store.program_id,
        "locked_until": Terminal.locked_until,
        "last_seen_at": Terminal.last_seen_at,
    },
)


def live_terminals(key_hash: Any) -> Any:
    """FROM terminals JOIN stores, and the WHERE of the live terminal with this key hash."""
    return (
        Terminal.__table__.join(Store.__table__, Store.id == Terminal.store_id),
        and_(Terminal.key_hash == key_hash, Terminal.revoked_at.is_(None)),
    )


_FROM, _LIVE = live_terminals(bindparam("key_hash", type_=String()))
_AUTHENTICATE = select(*TERMINAL.columns).select_from(_FROM).where(_LIVE)
_SEEN_TYPE = Terminal.__table__.c.last_seen_at.type
# Conditional, so workers that all found the time stale still write it once a minute at most.
# RETURNING, so PostgreSQL's prepared-statement path can fetch its (empty or one-row) result.
TOUCH = (
    update(Terminal)
    .where(
        Terminal.id == bindparam("terminal_id", type_=BigInteger()),
        or_(
            Terminal.last_seen_at.is_(None),
            Terminal.last_seen_at <= bindparam("cutoff", type_=_SEEN_TYPE),
        ),
    )
    .values(last_seen_at=bindparam("now", type_=_SEEN_TYPE))
    .returning(Terminal.id)
)


def touch_params(terminal: TerminalContext, now: datetime) -> dict[str, Any]:
    """The parameters of TOUCH for this till at `now`."""
    return {"terminal_id": terminal.terminal_id, "cutoff": now - SEEN_GRANULARITY, "now": now}


def touch(conn: Connection, terminal: TerminalContext, now: datetime) -> None:
    """Write the till's last-seen time when due, in `conn`'s transaction (no query otherwise)."""
    if terminal.seen_due(now):
        conn.execute(TOUCH, touch_params(terminal, now)).all()


def authenticate_hash(
    session: Session, key_hash: str, now: datetime | None = None
) -> TerminalContext | None:
    """The live terminal whose key hashes to `key_hash`, in one indexed lookup; None otherwise.
    Commits the last-seen time when due (at most once a minute per till)."""
    row = session.execute(_AUTHENTICATE, {"key_hash": key_hash}).first()
    if row is None:
        return None
    terminal = TERMINAL.build(row)
    now = now or utcnow()
    if terminal.seen_due(now):
        touch(session.connection(), terminal, now)
        session.commit()
    return terminal
