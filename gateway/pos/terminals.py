"""Stores and terminals: create, revoke, list, and authenticate a till by its bearer key."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import String, and_, bindparam, or_, select
from sqlalchemy.orm import Session

from gateway.domain.errors import GatewayError, not_found
from gateway.models.base import utcnow
from gateway.models.pos import Store, Terminal
from gateway.pos.rows import Record
from gateway.services.issue.programs import find_program
from gateway.services.keep_live.outbox import audit

KEY_PREFIX = "gwt_"
PREFIX_LENGTH = 12  # "gwt_" + 8 characters: enough for an operator to name a key


@dataclass(frozen=True, slots=True)
class TerminalContext:
    """The authenticated till: its id, its store and the store's program."""

    terminal_id: int
    store_id: int
    store_code: str
    program_id: int
    locked_until: datetime | None

    @property
    def actor(self) -> str:
        """How the audit trail names this till."""
        return f"terminal:{self.terminal_id}"


def hash_key(key: str) -> str:
    """SHA-256 hex of a terminal key (keys are high-entropy, so no slow hash is needed)."""
    return hashlib.sha256(key.encode()).hexdigest()


def new_key() -> str:
    """A fresh terminal key with a recognisable prefix."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def create_store(session: Session, code: str, name: str, program_slug: str) -> Store:
    """A new store of a program (commits)."""
    program = find_program(session, program_slug)
    if program is None:
        raise not_found(f"program {program_slug!r}")
    if session.scalar(select(Store.id).where(Store.code == code)) is not None:
        raise GatewayError("conflict", f"store {code!r} already exists", 409)
    store = Store(program_id=program.id, code=code, name=name or code)
    session.add(store)
    session.flush()
    audit(session, "operator", "store.created", f"store:{code}", program=program_slug)
    session.commit()
    return store


def create_terminal(session: Session, store_code: str, name: str = "") -> tuple[Terminal, str]:
    """A new terminal of a store and its key; the key is returned once and only its hash kept."""
    store = session.scalar(select(Store).where(Store.code == store_code))
    if store is None:
        raise not_found(f"store {store_code!r}")
    key = new_key()
    terminal = Terminal(
        store_id=store.id, name=name, key_prefix=key[:PREFIX_LENGTH], key_hash=hash_key(key)
    )
    session.add(terminal)
    session.flush()
    audit(session, "operator", "terminal.created", f"terminal:{terminal.id}", store=store_code)
    session.commit()
    return terminal, key


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


def revoke_terminal(session: Session, id_or_prefix: str) -> Terminal:
    """Revoke a terminal by id or key prefix; its key stops working at once."""
    terminal = terminal_by_id_or_prefix(session, id_or_prefix)
    if terminal.revoked_at is None:
        terminal.revoked_at = utcnow()
        audit(session, "operator", "terminal.revoked", f"terminal:{terminal.id}")
    session.commit()
    return terminal


def list_terminals(session: Session) -> list[tuple[Terminal, Store]]:
    """Every terminal with its store, oldest first."""
    rows = session.execute(
        select(Terminal, Store).join(Store, Store.id == Terminal.store_id).order_by(Terminal.id)
    ).all()
    return [(row[0], row[1]) for row in rows]


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


def authenticate_hash(session: Session, key_hash: str) -> TerminalContext | None:
    """The live terminal whose key hashes to `key_hash`, in one indexed lookup; None otherwise."""
    row = session.execute(_AUTHENTICATE, {"key_hash": key_hash}).first()
    return TERMINAL.build(row) if row is not None else None
