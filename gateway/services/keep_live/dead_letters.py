"""Dead letters: outbox events that failed OUTBOX_MAX_ATTEMPTS times; an operator retries or
discards each one (audited)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.domain.errors import not_found
from gateway.models.base import utcnow
from gateway.models.outbox import OutboxEvent
from gateway.services.operate.audit_trail import record_change


def dead_letters(session: Session, limit: int = 100) -> list[OutboxEvent]:
    """The newest dead letters first."""
    return list(
        session.scalars(
            select(OutboxEvent)
            .where(OutboxEvent.dead_at.is_not(None), OutboxEvent.delivered_at.is_(None))
            .order_by(OutboxEvent.dead_at.desc(), OutboxEvent.id.desc())
            .limit(limit)
        )
    )


def _dead(session: Session, event_id: str) -> OutboxEvent:
    event = session.scalar(
        select(OutboxEvent)
        .where(
            OutboxEvent.event_id == event_id,
            OutboxEvent.dead_at.is_not(None),
            OutboxEvent.delivered_at.is_(None),
        )
        .with_for_update()
    )
    if event is None:
        raise not_found(f"dead letter {event_id!r}")
    return event


def retry_dead_letter(session: Session, actor: str, event_id: str) -> OutboxEvent:
    """Put the event back in the queue with a fresh set of attempts. Commits."""
    event = _dead(session, event_id)
    before = {"attempts": event.attempts, "last_error": event.last_error}
    event.dead_at = None
    event.attempts = 0
    event.next_attempt_at = utcnow()
    record_change(
        session,
        actor,
        "outbox.retried",
        f"event:{event.event_id}",
        before=before,
        after={"attempts": 0},
        kind=event.kind,
    )
    session.commit()
    return event


def discard_dead_letter(session: Session, actor: str, event_id: str) -> None:
    """Drop the event for good; the audit row keeps its kind, payload and last error. Commits."""
    event = _dead(session, event_id)
    record_change(
        session,
        actor,
        "outbox.discarded",
        f"event:{event.event_id}",
        before={"kind": event.kind, "attempts": event.attempts, "last_error": event.last_error},
        payload=event.payload,
    )
    session.delete(event)
    session.commit()
