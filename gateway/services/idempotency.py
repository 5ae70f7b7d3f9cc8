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
