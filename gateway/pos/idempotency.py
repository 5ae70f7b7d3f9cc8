"""Idempotency-Key with Stripe's semantics, kept in the database so it holds across workers.

One protocol for every keyed call: the key's record is written once, done, with the answer, in
the same transaction as the call's effect, so the effect and the answer to replay commit together
and a call that fails (or a worker that dies) leaves nothing behind. A concurrent duplicate is
told apart on PostgreSQL by a transaction-scoped advisory lock on the key, taken in the call's
first statement (failing it answers idempotency_in_progress at once); SQLite serialises writers
anyway. Records left `in_progress` by an older release are taken over once stale.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from gateway.models.base import utcnow
from gateway.models.pos import IdempotencyRecord
from gateway.pos.errors import (
    MAX_KEY_LENGTH,
    idempotency_in_progress,
    idempotency_key_invalid,
    idempotency_key_missing,
    idempotency_key_reused,
)
from gateway.pos.rows import Record

if TYPE_CHECKING:
    from gateway.pos.store import PosStore
    from gateway.pos.terminals import TerminalContext
    from gateway.runtime import Runtime


@dataclass(frozen=True, slots=True)
class PosAnswer:
    """A status and JSON body produced by a POS use case."""

    status: int
    body: dict[str, Any]


@dataclass(frozen=True, slots=True)
class StoredAnswer:
    """The answer as sent: its exact body text, and whether it replays a first answer."""

    status: int
    body: str
    replayed: bool = False


def check_key(key: str | None) -> str:
    """The key from the header, or a 400 when it is missing, empty or too long."""
    if key is None or not key.strip():
        raise idempotency_key_missing()
    if len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise idempotency_key_invalid()
    return key


def fingerprint(method: str, path: str, body: bytes) -> str:
    """SHA-256 of the request; JSON bodies are canonicalised so key order does not matter."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except (ValueError, RecursionError):  # not JSON, or nested too deep: the handler says so
        canonical = body
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + canonical).hexdigest()


@dataclass(frozen=True, slots=True)
class KeyRecord:
    """A key's record as read at the start of a call."""

    id: int
    request_hash: str
    status: str
    response_status: int | None
    response_body: str | None
    created_at: datetime


KEY_RECORD = Record(
    KeyRecord,
    {
        "id": IdempotencyRecord.id,
        "request_hash": IdempotencyRecord.request_hash,
        "status": IdempotencyRecord.status,
        "response_status": IdempotencyRecord.response_status,
        "response_body": IdempotencyRecord.response_body,
        "created_at": IdempotencyRecord.created_at,
    },
)


@dataclass(frozen=True, slots=True)
class IdempotentCall:
    """A keyed request: the till's key hash, the key and the request's fingerprint."""

    key_hash: str
    key: str
    request_hash: str
    stale_after: timedelta


class KeyConflict(Exception):
    """The key's record was written by someone else after this call read it: start over."""


def key_lock(terminal_key_hash: str, key: str) -> int:
    """The advisory lock id of a terminal's key (signed 64 bits)."""
    digest = hashlib.sha256(f"pos-idempotency\0{terminal_key_hash}\0{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def decide(
    record: KeyRecord, request_hash: str, stale_after: timedelta, now: datetime
) -> StoredAnswer | datetime:
    """What an existing record means: its answer to replay, or (when it is a stale
    `in_progress` left by a dead worker) its created_at, to take it over; raises otherwise."""
    if record.request_hash != request_hash:
        raise idempotency_key_reused()
    if (
        record.status == "done"
        and record.response_status is not None
        and record.response_body is not None
    ):
        return StoredAnswer(record.response_status, record.response_body, replayed=True)
    if record.created_at <= now - stale_after:
        return record.created_at
    raise idempotency_in_progress()


@dataclass(frozen=True, slots=True)
class KeyWrite:
    """The record to store with a keyed call's effect (key None: an unkeyed call)."""

    terminal_id: int
    key: str | None
    request_hash: str
    taken_over: datetime | None
    answer: PosAnswer

    def params(self) -> dict[str, Any]:
        """Bind parameters of the record's insert (or take-over)."""
        return {
            "terminal_id": self.terminal_id,
            "key": self.key,
            "request_hash": self.request_hash,
            "taken_over": self.taken_over,
            "response_body": encode(self.answer),
            "response_status": self.answer.status,
        }


def replay_after_conflict(
    session: Session, terminal_id: int, key: str, request_hash: str
) -> StoredAnswer:
    """After KeyConflict (the caller rolled back): the record that won, read afresh."""
    row = session.execute(
        select(*KEY_RECORD.columns).where(
            IdempotencyRecord.terminal_id == terminal_id, IdempotencyRecord.key == key
        )
    ).first()
    session.rollback()
    if row is None:
        raise idempotency_in_progress()
    record = KEY_RECORD.build(row)
    if record.request_hash != request_hash:
        raise idempotency_key_reused()
    if record.status == "done" and record.response_status and record.response_body:
        return StoredAnswer(record.response_status, record.response_body, replayed=True)
    raise idempotency_in_progress()


def encode(answer: PosAnswer) -> str:
    """The exact body text sent (and replayed)."""
    return json.dumps(answer.body, separators=(",", ":"), sort_keys=True)


def purge(session: Session, older_than: timedelta) -> int:
    """Delete records older than the retention period; returns how many."""
    result = session.execute(
        delete(IdempotencyRecord).where(IdempotencyRecord.created_at < utcnow() - older_than)
    )
    session.commit()
    return int(getattr(result, "rowcount", 0))


def run_keyed(
    session: Session,
    store: PosStore,
    call: IdempotentCall,
    terminal_id: int,
    work: Callable[[], PosAnswer],
) -> StoredAnswer:
    """Claim the key, do the work and store its answer, all in the session's one transaction,
    committed here; a replay answers the first answer, a lost race the winner's."""
    now = utcnow()
    record = store.claim_key(session, call.key_hash, terminal_id, call.key)
    taken_over = None
    if record is not None:
        decision = decide(record, call.request_hash, call.stale_after, now)
        if isinstance(decision, StoredAnswer):
            session.rollback()
            return decision
        taken_over = decision
    answer = work()
    write = KeyWrite(terminal_id, call.key, call.request_hash, taken_over, answer)
    if not store.store_answer(session, write, now):
        session.rollback()
        return replay_after_conflict(session, terminal_id, call.key, call.request_hash)
    session.commit()
    return StoredAnswer(answer.status, encode(answer))


def keyed_unit(
    rt: Runtime,
    call: IdempotentCall,
    terminal: TerminalContext,
    work: Callable[[Session], PosAnswer],
) -> StoredAnswer:
    """A keyed use case's unit of work: its own session and transaction around `run_keyed`."""
    with rt.sessions() as session:
        return run_keyed(
            session, rt.pos_store, call, terminal.terminal_id, lambda: work(session)
        )
