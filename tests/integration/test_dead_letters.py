"""An event that keeps failing becomes a dead letter after OUTBOX_MAX_ATTEMPTS and stops
retrying; an operator retries it (delivered once the receiver is back) or discards it; the
worker records heartbeats and survives a failing round."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from gateway.domain.errors import GatewayError
from gateway.models.base import utcnow
from gateway.models.outbox import AuditEvent, OutboxEvent
from gateway.models.worker_heartbeat import WorkerHeartbeat
from gateway.runtime import runtime
from gateway.services.chores.heartbeats import HOUSEKEEPING, OUTBOX_DELIVERY
from gateway.services.chores.worker import Worker
from gateway.services.keep_live.dead_letters import (
    dead_letters,
    discard_dead_letter,
    retry_dead_letter,
)
from gateway.services.keep_live.outbox import add_event, deliver_pending
from tests.fakes.crm_server import FakeCrm


def _crm_app(make_app, crm: FakeCrm):
    return make_app(
        CRM="http",
        CRM_BASE_URL=crm.base_url,
        CRM_WEBHOOK_SECRET=crm.secret,
        CRM_TIMEOUT_SECONDS=2,
        OUTBOX_MAX_ATTEMPTS=3,
    )


def _event(app, event_payload: dict) -> str:
    with runtime(app).sessions() as session:
        event_id = add_event(session, "consent.withdrawn", event_payload)
        session.commit()
        return event_id


def _make_due(app) -> None:
    with runtime(app).sessions() as session:
        session.execute(update(OutboxEvent).values(next_attempt_at=utcnow()))
        session.commit()


def _row(app, event_id: str) -> OutboxEvent | None:
    with runtime(app).sessions() as session:
        row = session.scalar(select(OutboxEvent).where(OutboxEvent.event_id == event_id))
        if row is not None:
            session.expunge(row)
        return row


def test_a_failing_event_dies_after_the_attempts_and_a_retry_delivers_it(make_app):
    with FakeCrm() as crm:
        app = _crm_app(make_app, crm)
        crm.down = True
        event_id = _event(app, {"member_crm_id": "c-1", "kind": "marketing"})
        for _ in range(3):
            _make_due(app)
            assert deliver_pending(runtime(app)) == 0
        dead = _row(app, event_id)
        assert dead is not None and dead.dead_at is not None and dead.attempts == 3
        assert dead.last_error == "CrmUnavailable: crm_unavailable"
        # A dead letter is not tried again, however often the worker runs.
        _make_due(app)
        deliver_pending(runtime(app))
        assert _row(app, event_id).attempts == 3
        with runtime(app).sessions() as session:
            assert [e.event_id for e in dead_letters(session)] == [event_id]
            retry_dead_letter(session, "operator:1", event_id)
        crm.down = False
        assert deliver_pending(runtime(app)) == 1
        delivered = _row(app, event_id)
        assert delivered.delivered_at is not None and delivered.dead_at is None
        assert event_id in crm.events
        with runtime(app).sessions() as session:
            audit = session.scalar(select(AuditEvent).where(AuditEvent.action == "outbox.retried"))
            assert audit is not None and audit.actor == "operator:1"
            assert audit.details["before"]["attempts"] == 3


def test_a_discarded_dead_letter_is_gone_and_audited(make_app):
    with FakeCrm() as crm:
        app = _crm_app(make_app, crm)
        crm.down = True
        event_id = _event(app, {"member_crm_id": "c-2", "kind": "marketing"})
        for _ in range(3):
            _make_due(app)
            deliver_pending(runtime(app))
        with runtime(app).sessions() as session:
            discard_dead_letter(session, "operator:2", event_id)
        assert _row(app, event_id) is None
        with runtime(app).sessions() as session:
            audit = session.scalar(
                select(AuditEvent).where(AuditEvent.action == "outbox.discarded")
            )
            assert audit is not None and audit.details["payload"]["member_crm_id"] == "c-2"


def test_retrying_something_that_is_not_a_dead_letter_is_a_404(make_app):
    app = make_app()
    event_id = _event(app, {"member_crm_id": "c-3", "kind": "marketing"})
    with runtime(app).sessions() as session, pytest.raises(GatewayError) as raised:
        retry_dead_letter(session, "operator:1", event_id)
    assert raised.value.status == 404 and raised.value.code == "not_found"


def test_the_worker_beats_for_each_job_and_survives_a_database_error(make_app):
    app = make_app()
    rt = runtime(app)
    worker = Worker(rt, chores_every=3600)
    worker.round()
    with rt.sessions() as session:
        names = set(session.scalars(select(WorkerHeartbeat.name)))
    assert names == {OUTBOX_DELIVERY, HOUSEKEEPING}
    # Break delivery for one round: the outbox table is renamed away and back.
    with rt.engine.begin() as connection:
        connection.exec_driver_sql("ALTER TABLE outbox RENAME TO outbox_away")
    try:
        delivered, _ = worker.round()
        assert delivered == 0
    finally:
        with rt.engine.begin() as connection:
            connection.exec_driver_sql("ALTER TABLE outbox_away RENAME TO outbox")
    with rt.sessions() as session:
        row = session.get(WorkerHeartbeat, OUTBOX_DELIVERY)
        assert row is not None and row.last_error is not None
        assert row.last_ok_at is not None and row.last_ok_at < row.last_run_at
    worker.next_beat = 0.0
    worker.round()
    with rt.sessions() as session:
        row = session.get(WorkerHeartbeat, OUTBOX_DELIVERY)
        assert row is not None and row.last_ok_at == row.last_run_at
