"""Enrollment against a REST CRM: lookup, creation, signed card.linked events, CRM outages."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from gateway.models import Account, Card, Member, OutboxEvent, WalletPass
from gateway.runtime import runtime
from gateway.services.keep_live.outbox import deliver_pending
from tests.api.enrollment_helpers import start
from tests.factories import demo_program
from tests.fakes.crm_server import FakeCrm
from tests.fakes.smtp_server import free_port


@pytest.fixture
def crm():
    with FakeCrm() as server:
        yield server


def _app(make_app, smtp, crm_url, secret="crm-webhook-secret"):
    app = make_app(
        NOTIFIER="smtp",
        SMTP_HOST=smtp.host,
        SMTP_PORT=smtp.port,
        CRM="http",
        CRM_BASE_URL=crm_url,
        CRM_WEBHOOK_SECRET=secret,
        CRM_TIMEOUT_SECONDS=2,
    )
    demo_program(app)
    return app


def _verify(client, smtp, enrollment_id, email):
    code = smtp.last_code_for(email)
    return client.post(f"/api/v1/enrollments/{enrollment_id}/verify", json={"code": code})


def test_found_in_crm_digitizes_and_tells_the_crm_with_a_signed_event(make_app, smtp, crm):
    existing = crm.add_member(
        program="demo",
        email="zoe@example.com",
        name="Zoe Park",
        card_number="7000000000000047",
        balance=1234,
        tier="Silver",
        discount_percent=5,
    )
    app = _app(make_app, smtp, crm.base_url)
    client = app.test_client()
    response = _verify(client, smtp, start(client, email="zoe@example.com"), "zoe@example.com")

    assert response.status_code == 200
    body = response.json
    assert body["digitized_existing"] is True
    assert body["member"]["card_number"] == "7000000000000047"
    assert (body["member"]["balance"], body["member"]["tier"]) == (1234, "Silver")
    assert crm.events == {}  # the webhook is the worker's job, not the customer's wait
    deliver_pending(runtime(app))
    events = list(crm.events.values())
    assert [e["type"] for e in events] == ["card.linked"]
    assert events[0]["data"]["crm_member_id"] == existing["id"]
    assert events[0]["data"]["card_number"] == "7000000000000047"
    assert crm.rejected_events == 0


def test_not_found_creates_the_member_in_the_crm(make_app, smtp, crm):
    app = _app(make_app, smtp, crm.base_url)
    client = app.test_client()
    response = _verify(
        client, smtp, start(client, email="yan@example.com", name="Yan Li"), "yan@example.com"
    )
    assert response.status_code == 200
    assert response.json["digitized_existing"] is False
    created = [m for m in crm.members.values() if m.get("email") == "yan@example.com"]
    assert len(created) == 1
    assert created[0]["consents"]["terms"]["granted"] is True
    assert created[0]["name"] == "Yan Li"


def test_crm_existing_number_that_breaks_the_rules_gets_a_new_number_and_keeps_the_old(
    make_app, smtp, crm
):
    crm.add_member(program="demo", email="old@example.com", card_number="12345", balance=10)
    app = _app(make_app, smtp, crm.base_url)
    client = app.test_client()
    response = _verify(client, smtp, start(client, email="old@example.com"), "old@example.com")
    assert response.status_code == 200
    assert response.json["member"]["card_number"] != "12345"
    with runtime(app).sessions() as session:
        card = session.scalars(select(Card)).one()
    assert card.legacy_number == "12345"


def test_crm_unreachable_is_503_and_nothing_is_half_created(make_app, smtp, crm):
    app = _app(make_app, smtp, f"http://127.0.0.1:{free_port()}")
    client = app.test_client()
    enrollment_id = start(client, email="ana@example.com")
    response = _verify(client, smtp, enrollment_id, "ana@example.com")

    assert response.status_code == 503
    assert response.json["error"]["code"] == "crm_unavailable"
    with runtime(app).sessions() as session:
        for model in (Member, Account, Card, WalletPass, OutboxEvent):
            assert session.scalar(select(func.count()).select_from(model)) == 0
    # The attempt was not spent: once the CRM is back, the same code works.
    healthy = _app(make_app, smtp, crm.base_url)
    retry = _verify(healthy.test_client(), smtp, enrollment_id, "ana@example.com")
    assert retry.status_code == 200


def test_crm_5xx_is_503(make_app, smtp, crm):
    crm.down = True
    app = _app(make_app, smtp, crm.base_url)
    client = app.test_client()
    response = _verify(client, smtp, start(client, email="ana@example.com"), "ana@example.com")
    assert response.status_code == 503
    assert response.json["error"]["code"] == "crm_unavailable"


def test_card_linked_event_survives_a_crm_outage_and_is_delivered_later(make_app, smtp, crm):
    crm.add_member(program="demo", email="kim@example.com", card_number="7000000000000054")
    app = _app(make_app, smtp, crm.base_url, secret="wrong-secret")  # CRM rejects our webhooks
    client = app.test_client()
    assert (
        _verify(client, smtp, start(client, email="kim@example.com"), "kim@example.com").status_code
        == 200
    )
    deliver_pending(runtime(app))  # the worker's first try
    assert crm.events == {} and crm.rejected_events == 1

    fixed = _app(make_app, smtp, crm.base_url)
    rt = runtime(fixed)
    with rt.sessions() as session:
        event = session.scalars(select(OutboxEvent).where(OutboxEvent.kind == "card.linked")).one()
        assert event.delivered_at is None and event.attempts == 1
        event.next_attempt_at = event.created_at  # due now, instead of after the backoff
        session.commit()
    assert deliver_pending(rt) == 1
    assert deliver_pending(rt) == 0
    assert [e["data"]["card_number"] for e in crm.events.values()] == ["7000000000000054"]
