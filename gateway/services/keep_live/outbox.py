"""Transactional outbox: events written with the change, delivered later by handlers with retry."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from gateway.models.base import utcnow
from gateway.models.outbox import AuditEvent, OutboxEvent
from gateway.runtime import Runtime

log = logging.getLogger(__name__)

Handler = Callable[[Runtime, OutboxEvent], None]
_HANDLERS: dict[str, list[Handler]] = {}
LEASE = timedelta(seconds=60)
MAX_BACKOFF_SECONDS = 3600


def handles(kind: str) -> Callable[[Handler], Handler]:
    """Register a delivery handler for an event kind (several handlers may share one kind)."""

    def register(handler: Handler) -> Handler:
        _HANDLERS.setdefault(kind, []).append(handler)
        return handler

    return register


def new_event_id() -> str:
    """A fresh outbox event id (receivers dedupe on it)."""
    return f"evt_{secrets.token_hex(12)}"


def code_used_payload(pass_id: int, serial: str) -> dict[str, Any]:
    """The `pass.changed` payload of an Apple code used at a till (the pass shows the next one)."""
    return {"pass_id": pass_id, "serial": serial, "reason": "code_used"}


def add_event(session: Session, kind: str, payload: dict[str, Any]) -> str:
    """Write an event in the caller's transaction; returns its id (receivers dedupe on it)."""
    event_id = new_event_id()
    session.add(OutboxEvent(event_id=event_id, kind=kind, payload=payload))
    return event_id


def audit(session: Session, actor: str, action: str, subject: str, **details: Any) -> None:
    """Append an audit row in the caller's transaction."""
    session.add(AuditEvent(actor=actor, action=action, subject=subject, details=details))


def _claim(session: Session, event: OutboxEvent) -> bool:
    # Optimistic claim: only one worker moves next_attempt_at forward, the others see rowcount 0.
    result = session.execute(
        update(OutboxEvent)
        .where(
            OutboxEvent.id == event.id,
            OutboxEvent.next_attempt_at == event.next_attempt_at,
            OutboxEvent.delivered_at.is_(None),
        )
        .values(next_attempt_at=utcnow() + LEASE)
    )
    session.commit()
    return bool(getattr(result, "rowcount", 0) == 1)


def deliver_pending(rt: Runtime, *, limit: int = 100, kinds: set[str] | None = None) -> int:
    """Deliver due events once each; failures are rescheduled with exponential backoff."""
    delivered = 0
    with rt.sessions() as session:
        query = (
            select(OutboxEvent)
            .where(
                OutboxEvent.delivered_at.is_(None),
                OutboxEvent.dead_at.is_(None),
                OutboxEvent.next_attempt_at <= utcnow(),
            )
            .order_by(OutboxEvent.id)
            .limit(limit)
        )
        if kinds:
            query = query.where(OutboxEvent.kind.in_(kinds))
        events = list(session.scalars(query))
        session.commit()
        for event in events:
            if not _claim(session, event):
                continue
            try:
                for handler in _HANDLERS.get(event.kind, []):
                    handler(rt, event)
            except Exception as exc:  # a failed delivery is retried, never lost
                event.attempts += 1
                backoff = min(2**event.attempts * 5, MAX_BACKOFF_SECONDS)
                event.next_attempt_at = utcnow() + timedelta(seconds=backoff)
                event.last_error = f"{type(exc).__name__}: {exc}"[:500]
                if event.attempts >= rt.settings.outbox_max_attempts:
                    event.dead_at = utcnow()
                log.warning(
                    "outbox %s (%s) failed (attempt %d%s): %s",
                    event.event_id,
                    event.kind,
                    event.attempts,
                    ", now a dead letter" if event.dead_at else "",
                    type(exc).__name__,
                )
            else:
                event.delivered_at = utcnow()
                delivered += 1
            session.commit()
    return delivered
