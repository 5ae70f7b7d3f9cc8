"""The POS store: the reads and writes that differ by database, behind one interface.

`PostgresPosStore` runs the hot statements as prepared statements on the psycopg connection (a
code accepted, or a redemption with its ledger, audit, outbox and key rows, in one statement);
`PortablePosStore` does the same with SQLAlchemy on any database. One is chosen at start-up.
Both take the caller's session: the use case owns the transaction and commits it.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from gateway.pos.cardholder import Cardholder
from gateway.pos.idempotency import KeyRecord, KeyWrite
from gateway.pos.ledger import Balance, Movement, Origin
from gateway.pos.reads import RedemptionRead, ScanRead


@dataclass(frozen=True, slots=True)
class CodeAcceptance:
    """A one-time code to record as used; Apple codes also advance the pass and push it."""

    pass_id: int
    serial: str
    wallet: str
    step: int
    terminal_id: int
    now: datetime


@dataclass(frozen=True, slots=True)
class RedemptionQuery:
    """What a redemption reads: the till's key hash, the key (None: unkeyed), the card of the
    checkout (0: none) and the reward code ("" for points)."""

    key_hash: str
    key: str | None
    lock: int
    card_id: int
    reward_code: str


@dataclass(frozen=True, slots=True)
class RedemptionWrite:
    """Every row of one redemption: the ledger change, the redemption row and the key's answer.

    `balance` is the balance after the change, known exactly because the account row is locked
    since the read."""

    holder: Cardholder
    movement: Movement
    origin: Origin
    reason: str
    details: dict[str, Any]
    redemption: dict[str, Any]
    balance: Balance
    key: KeyWrite
    now: datetime


class ScanUnit(Protocol):
    """The reads and the write of one identify call, on one connection."""

    def read(self, key_hash: str, number: str) -> ScanRead | None:
        """The till and the card (None: no live till with this key)."""
        ...

    def accept(self, code: CodeAcceptance) -> bool:
        """Record the code as used (Apple: advance the counter, bump the pass, write the event);
        False when another call used it first, in which case nothing is written."""
        ...


class PosStore(Protocol):
    """What the POS use cases need from the database beyond the portable ORM work."""

    name: str

    def scanning(self, session: Session) -> AbstractContextManager[ScanUnit]:
        """A unit for one identify call."""
        ...

    def read_redemption(self, session: Session, query: RedemptionQuery) -> RedemptionRead | None:
        """The redemption's joined read, first statement of the session's transaction."""
        ...

    def write_redemption(self, session: Session, write: RedemptionWrite, *, commit: bool) -> bool:
        """Every write of a redemption; False if the key's record was taken meanwhile (nothing
        is then written). Raises insufficient_points. With `commit` the store may commit with
        the write (nothing else was written in the transaction)."""
        ...

    def claim_key(
        self, session: Session, key_hash: str, terminal_id: int, key: str
    ) -> KeyRecord | None:
        """Claim a key for this transaction (idempotency_in_progress if a concurrent call holds
        it) and read its record, if any."""
        ...

    def store_answer(self, session: Session, write: KeyWrite, now: datetime) -> bool:
        """Store the key's answer; False if another call stored it first."""
        ...


def build_pos_store(engine: Engine) -> PosStore:
    """The store for this engine's database."""
    if engine.dialect.name == "postgresql":
        from gateway.pos.store_postgres import PostgresPosStore

        return PostgresPosStore(engine)
    from gateway.pos.store_portable import PortablePosStore

    return PortablePosStore()

