"""Delivered outbox events are deleted after a retention: they are not kept as a history."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session

from gateway.models.outbox import OutboxEvent


def purge_delivered_events(session: Session, now: datetime, retention: timedelta) -> int:
    """Delete events delivered before `now - retention` (undelivered ones stay); commits."""
    result = session.execute(
        delete(OutboxEvent).where(
            OutboxEvent.delivered_at.is_not(None), OutboxEvent.delivered_at < now - retention
        )
    )
    session.commit()
    return int(getattr(result, "rowcount", 0) or 0)
