"""The operations page: admins see the outbox by kind, dead letters (retry, discard, audited),
latency and the worker; other roles are refused."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, select

from gateway.models.base import utcnow
from gateway.models.outbox import AuditEvent, OutboxEvent
from gateway.models.worker_heartbeat import WorkerHeartbeat
from gateway.runtime import runtime
from gateway.services.chores.heartbeats import OUTBOX_DELIVERY, beat
from gateway.services.operate.operations import operations_view, percentile
from tests.console_helpers import audits, post_form, signed_in_client


def _seed(app) -> None:
    now = utcnow()
    with runtime(app).sessions() as session:
        session.execute(delete(OutboxEvent))
        session.execute(delete(WorkerHeartbeat))
        session.add_all(
            [
                OutboxEvent(
                    event_id="evt_dead",
                    kind="card.linked",
                    payload={"crm_id": "c-9"},
                    attempts=15,
                    dead_at=now,
                    last_error="CrmUnavailable: crm_unavailable",
                ),
                OutboxEvent(event_id="evt_wait", kind="balance.changed", payload={}),
                *(
                    OutboxEvent(
                        event_id=f"evt_done{n}",
                        kind="balance.changed",
                        payload={},
                        created_at=now - timedelta(seconds=n + 10),
                        delivered_at=now - timedelta(seconds=10),
                    )
                    for n in range(1, 11)
                ),
            ]
        )
        session.commit()
        beat(session, OUTBOX_DELIVERY)


def test_percentiles_are_nearest_rank():
    values = [float(n) for n in range(1, 11)]
    assert percentile(values, 0.5) == 5.0
    assert percentile(values, 0.99) == 10.0
    assert percentile([], 0.5) is None


def test_the_view_counts_from_the_outbox(app):
    _seed(app)
    with runtime(app).sessions() as session:
        view = operations_view(session)
    by_kind = {kind.kind: kind for kind in view.kinds}
    assert by_kind["card.linked"].dead == 1 and by_kind["card.linked"].pending == 0
    changed = by_kind["balance.changed"]
    assert changed.pending == 1 and changed.delivered_24h == 10
    assert changed.latency_p50_seconds == 5.0 and changed.latency_p99_seconds == 10.0
    assert [event.event_id for event in view.dead] == ["evt_dead"]
    assert [beat.name for beat in view.heartbeats] == [OUTBOX_DELIVERY]


def test_an_admin_retries_and_discards_dead_letters(app):
    _seed(app)
    admin = signed_in_client(app, "admin")
    page = admin.get("/console/operations")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'data-event="evt_dead"' in text and "CrmUnavailable" in text
    answer = post_form(
        admin, "/console/operations/dead-letters/evt_dead/retry", {}, "/console/operations"
    )
    assert answer.status_code == 302
    with runtime(app).sessions() as session:
        event = session.scalar(select(OutboxEvent).where(OutboxEvent.event_id == "evt_dead"))
        assert event is not None and event.dead_at is None and event.attempts == 0
    assert audits(app, "outbox.retried")[-1].actor.startswith("operator:")
    # Retrying again: it is no longer a dead letter.
    again = post_form(
        admin, "/console/operations/dead-letters/evt_dead/retry", {}, "/console/operations"
    )
    assert again.status_code == 404


def test_a_form_without_csrf_changes_nothing(app):
    _seed(app)
    admin = signed_in_client(app, "admin")
    answer = admin.post("/console/operations/dead-letters/evt_dead/discard", data={})
    assert answer.status_code == 400
    with runtime(app).sessions() as session:
        assert session.scalar(select(OutboxEvent).where(OutboxEvent.event_id == "evt_dead"))


def test_other_roles_are_refused_and_audited(app):
    _seed(app)
    for role in ("marketer", "support"):
        client = signed_in_client(app, role)
        assert client.get("/console/operations").status_code == 403
    with runtime(app).sessions() as session:
        refused = session.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "console.forbidden",
                AuditEvent.subject == "GET /console/operations",
            )
        ).all()
    assert len(refused) == 2
