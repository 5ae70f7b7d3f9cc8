"""Delivered outbox events are purged after OUTBOX_RETENTION_HOURS by the hourly chore."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from gateway.models import OutboxEvent
from gateway.models.base import utcnow
from gateway.runtime import runtime
from gateway.services.chores.housekeeping import run_housekeeping


def test_delivered_events_past_the_retention_are_purged_pending_ones_stay(make_app):
    app = make_app(OUTBOX_RETENTION_HOURS=24)
    rt = runtime(app)
    now = utcnow()
    with rt.sessions() as session:
        for event_id, delivered in (
            ("evt_old", now - timedelta(hours=25)),
            ("evt_recent", now - timedelta(hours=23)),
            ("evt_pending", None),
        ):
            session.add(
                OutboxEvent(
                    event_id=event_id,
                    kind="card.linked",
                    payload={"card_number": "7000000000000013"},
                    created_at=now - timedelta(hours=30),
                    delivered_at=delivered,
                )
            )
        session.commit()

    done = run_housekeeping(rt)

    assert done["outbox_events_purged"] == 1
    with rt.sessions() as session:
        left = set(session.scalars(select(OutboxEvent.event_id)))
    assert left == {"evt_recent", "evt_pending"}
    assert run_housekeeping(rt)["outbox_events_purged"] == 0
