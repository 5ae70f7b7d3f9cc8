"""Idempotency-Key with Stripe's semantics, kept in the database so it holds across workers.

The record is inserted `in_progress` in its own short transaction (the unique key decides races),
the work runs in a second transaction that also stores the answer, so the effect and the answer
to replay commit together. A request that fails undoes its effect and frees the key; a process
that dies leaves `in_progress`, which a retry may take over once it is older than the stale limit.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gateway.domain.errors import GatewayError
from gateway.models.base import utcnow
from gateway.models.pos import IdempotencyRecord

MAX_KEY_LENGTH = 255


@dataclass(frozen=True, slots=True)
class PosAnswer:
    """A status and JSON body produced by a POS use case."""

    status: int
    body: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Ticket:
    """The right to execute a keyed request once."""

    record_id: int


@dataclass(frozen=True, slots=True)
class StoredAnswer:
    """The first answer to a key, replayed verbatim."""

    status: int
    body: str


def check_key(key: str | None) -> str:
    """The key from the header, or a 400 when it is missing, empty or too long."""
    if key is None or not key.strip():
        raise GatewayError(
            "idempotency_key_missing", "send an Idempotency-Key header with this request", 400
        )
    if len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise GatewayError(
            "idempotency_key_invalid",
            f"the Idempotency-Key must be printable and at most {MAX_KEY_LENGTH} characters",
            400,
        )
    return key


def fingerprint(method: str, path: str, body: bytes) -> str:
    """SHA-256 of the request; JSON bodies are canonicalised so key order does not matter."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except ValueError:
        canonical = body
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + canonical).hexdigest()


def begin(
    session: Session, terminal_id: int, key: str, request_hash: str, stale_after: timedelta
) -> Ticket | StoredAnswer:
    """Claim the key (commits), or the stored answer, or raise reused / in progress."""
    now = utcnow()
    try:
        record_id = session.execute(
            insert(IdempotencyRecord)
            .values(terminal_id=terminal_id, key=key, request_hash=request_hash, created_at=now)
            .returning(IdempotencyRecord.id)
        ).scalar_one()
        session.commit()
        return Ticket(record_id)
    except IntegrityError:
        session.rollback()
    row = session.execute(
        select(
            IdempotencyRecord.id,
            IdempotencyRecord.request_hash,
            IdempotencyRecord.status,
            IdempotencyRecord.response_status,
            IdempotencyRecord.response_body,
            IdempotencyRecord.created_at,
        ).where(IdempotencyRecord.terminal_id == terminal_id, IdempotencyRecord.key == key)
    ).first()
    if row is None:  # freed by a failed first attempt in the meantime: try once more
        session.rollback()
        return begin(session, terminal_id, key, request_hash, stale_after)
    record_id, stored_hash, status, response_status, response_body, created_at = row
    if stored_hash != request_hash:
        session.rollback()
        raise GatewayError(
            "idempotency_key_reused",
            "this Idempotency-Key was used with a different request",
            422,
        )
    if status == "done" and response_status is not None and response_body is not None:
        session.rollback()
        return StoredAnswer(response_status, response_body)
    if created_at <= now - stale_after and _take_over(session, record_id, created_at, now):
        return Ticket(record_id)
    session.rollback()
    raise GatewayError(
        "idempotency_in_progress",
        "a request with this Idempotency-Key is still being processed; retry shortly",
        409,
        headers={"Retry-After": "1"},
    )


def _take_over(session: Session, record_id: int, created_at: datetime, now: datetime) -> bool:
    """Claim a stale in-progress record left by a crashed worker (only one claimant wins)."""
    claimed = session.execute(
        update(IdempotencyRecord)
        .where(
            IdempotencyRecord.id == record_id,
            IdempotencyRecord.status == "in_progress",
            IdempotencyRecord.created_at == created_at,
        )
        .values(created_at=now)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return bool(getattr(claimed, "rowcount", 0) == 1)


# --- keys claimed inside the work's own transaction (the redemption hot path) ----------------
#
# The record is written once, with the answer, by the statement that makes the effect, so a
# keyed call costs no transaction of its own. A concurrent duplicate is told apart on
# PostgreSQL by a transaction-scoped advisory lock on the key, taken in the call's first
# statement (failing it answers idempotency_in_progress at once); SQLite serialises writers
# anyway. A worker that dies leaves nothing behind: its transaction, record included, is
# rolled back. Records `in_progress` (from `begin`) are honoured and taken over when stale.

RECORD_COLUMNS = (
    IdempotencyRecord.id,
    IdempotencyRecord.request_hash,
    IdempotencyRecord.status,
    IdempotencyRecord.response_status,
    IdempotencyRecord.response_body,
    IdempotencyRecord.created_at,
)


@dataclass(frozen=True, slots=True)
class KeyRecord:
    """A key's record as read at the start of a call."""

    id: int
    request_hash: str
    status: str
    response_status: int | None
    response_body: str | None
    created_at: datetime


class KeyConflict(Exception):
    """The key's record was written by someone else after this call read it: start over."""


def key_lock(terminal_key_hash: str, key: str) -> int:
    """The advisory lock id of a terminal's key (signed 64 bits)."""
    digest = hashlib.sha256(f"pos-idempotency\0{terminal_key_hash}\0{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def in_progress() -> GatewayError:
    """The 409 of a key whose first request is still running."""
    return GatewayError(
        "idempotency_in_progress",
        "a request with this Idempotency-Key is still being processed; retry shortly",
        409,
        headers={"Retry-After": "1"},
    )


def key_reused() -> GatewayError:
    """The 422 of a key sent again with a different request."""
    return GatewayError(
        "idempotency_key_reused", "this Idempotency-Key was used with a different request", 422
    )


def decide(
    record: KeyRecord, request_hash: str, stale_after: timedelta, now: datetime
) -> StoredAnswer | datetime:
    """What an existing record means: its answer to replay, or (when it is a stale
    `in_progress` left by a dead worker) its created_at, to take it over; raises otherwise."""
    if record.request_hash != request_hash:
        raise key_reused()
    if (
        record.status == "done"
        and record.response_status is not None
        and record.response_body is not None
    ):
        return StoredAnswer(record.response_status, record.response_body)
    if record.created_at <= now - stale_after:
        return record.created_at
    raise in_progress()


@dataclass(frozen=True, slots=True)
class KeyWrite:
    """The record to store with a keyed call's effect (key None: an unkeyed call)."""

    terminal_id: int
    key: str | None
    request_hash: str
    taken_over: datetime | None
    answer: PosAnswer

    def params(self) -> dict[str, Any]:
        """Bind parameters of RECORD_CTE."""
        return {
            "terminal_id": self.terminal_id,
            "key": self.key,
            "request_hash": self.request_hash,
            "taken_over": self.taken_over,
            "response_body": encode(self.answer),
            "response_status": self.answer.status,
        }


# A CTE for a PostgreSQL write statement, after a CTE `gate` (one row when the effect can be
# made): inserts the record done, or takes over the stale in_progress one it read. The
# statement's effect hangs off this CTE's row, so a record taken by someone else in the
# meantime leaves the statement without any effect at all.
RECORD_CTE = """, record AS (
    INSERT INTO idempotency_records
        (terminal_id, key, request_hash, status, response_status, response_body, created_at)
    SELECT :terminal_id, :key, :request_hash, 'done', :response_status, :response_body, :now
    FROM gate
    ON CONFLICT (terminal_id, key) DO UPDATE
    SET status = 'done', response_status = EXCLUDED.response_status,
        response_body = EXCLUDED.response_body, created_at = EXCLUDED.created_at
    WHERE idempotency_records.status = 'in_progress'
      AND idempotency_records.request_hash = EXCLUDED.request_hash
      AND idempotency_records.created_at = :taken_over
    RETURNING id
)"""


def store_answer(conn: Connection, write: KeyWrite, now: datetime) -> bool:
    """Portable form of RECORD_CTE: store the answer; False if the record was taken."""
    params = write.params()
    if write.taken_over is not None:
        taken = conn.execute(
            update(IdempotencyRecord)
            .where(
                IdempotencyRecord.terminal_id == write.terminal_id,
                IdempotencyRecord.key == write.key,
                IdempotencyRecord.status == "in_progress",
                IdempotencyRecord.created_at == write.taken_over,
            )
            .values(
                status="done",
                response_status=params["response_status"],
                response_body=params["response_body"],
                created_at=now,
            )
        )
        return bool(getattr(taken, "rowcount", 0) == 1)
    try:
        with conn.begin_nested():
            conn.execute(
                insert(IdempotencyRecord).values(
                    terminal_id=write.terminal_id,
                    key=write.key,
                    request_hash=write.request_hash,
                    status="done",
                    response_status=params["response_status"],
                    response_body=params["response_body"],
                    created_at=now,
                )
            )
    except IntegrityError:
        return False
    return True


def replay_after_conflict(
    session: Session, terminal_id: int, key: str, request_hash: str
) -> StoredAnswer:
    """After KeyConflict (the caller rolled back): the record that won, read afresh."""
    row = session.execute(
        select(*RECORD_COLUMNS).where(
            IdempotencyRecord.terminal_id == terminal_id, IdempotencyRecord.key == key
        )
    ).first()
    session.rollback()
    if row is None:
        raise in_progress()
    record = KeyRecord(*row)
    if record.request_hash != request_hash:
        raise key_reused()
    if record.status == "done" and record.response_status and record.response_body:
        return StoredAnswer(record.response_status, record.response_body)
    raise in_progress()


def encode(answer: PosAnswer) -> str:
    """The exact body text sent (and replayed)."""
    return json.dumps(answer.body, separators=(",", ":"), sort_keys=True)


def run(session: Session, ticket: Ticket | None, work: Callable[[], PosAnswer]) -> StoredAnswer:
    """Do the work and store its answer in the same transaction; on failure free the key."""
    try:
        answer = work()
        text = encode(answer)
        if ticket is not None:
            session.execute(
                update(IdempotencyRecord)
                .where(IdempotencyRecord.id == ticket.record_id)
                .values(status="done", response_status=answer.status, response_body=text)
                .execution_options(synchronize_session=False)
            )
        session.commit()
        return StoredAnswer(answer.status, text)
    except BaseException:
        session.rollback()
        if ticket is not None:
            session.execute(
                delete(IdempotencyRecord).where(
                    IdempotencyRecord.id == ticket.record_id,
                    IdempotencyRecord.status == "in_progress",
                )
            )
            session.commit()
        raise


def purge(session: Session, older_than: timedelta) -> int:
    """Delete records older than the retention period; returns how many."""
    result = session.execute(
        delete(IdempotencyRecord).where(IdempotencyRecord.created_at < utcnow() - older_than)
    )
    session.commit()
    return int(getattr(result, "rowcount", 0))
