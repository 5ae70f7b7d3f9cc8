"""Unused Apple codes expire: the counter moves on, the pass is pushed, the old code is refused."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from gateway.models import Card, OutboxEvent, WalletPass
from gateway.models.base import utcnow
from gateway.runtime import runtime
from gateway.services.issue.apple_passes import store_card_content
from tests.factories import enroll_member
from tests.integration.conftest import new_till


def _age_apple_code(app, card_number: str, days: int) -> None:
    with runtime(app).sessions() as session:
        card_id = select(Card.id).where(Card.number == card_number).scalar_subquery()
        session.execute(
            update(WalletPass)
            .where(WalletPass.wallet == "apple", WalletPass.card_id == card_id)
            .values(code_issued_at=utcnow() - timedelta(days=days))
        )
        session.commit()


def test_stale_apple_code_is_rotated_once_and_the_old_one_refused(app):
    member = enroll_member(app, balance=100)
    fresh = enroll_member(app, balance=100)
    _age_apple_code(app, member.card_number, days=31)
    _age_apple_code(app, fresh.card_number, days=29)

    runner = app.test_cli_runner()
    first = runner.invoke(args=["codes", "rotate-stale"]).output
    assert "rotated 1 Apple code(s) older than 30 day(s)" in first
    assert "rotated 0 Apple code(s)" in runner.invoke(args=["codes", "rotate-stale"]).output

    with runtime(app).sessions() as session:
        events = session.scalars(select(OutboxEvent)).all()
        assert [(e.kind, e.payload["reason"]) for e in events] == [("pass.changed", "code_expired")]
        rotated = session.get(WalletPass, events[0].payload["pass_id"])
        assert rotated.code_counter == 1
        # Rotation is not a use: the pass does not claim the card was used.
        assert store_card_content(session, runtime(app), rotated).last_used == ""

    till = new_till(app)
    refused = till.identify(member.apple_scan(0))
    assert refused.status_code in (409, 422)
    assert refused.json["error"]["code"] in ("code_already_used", "code_rejected")
    assert till.identify(member.apple_scan(1)).status_code == 200
    assert till.identify(fresh.apple_scan(0)).status_code == 200


def test_worker_does_the_chores_and_delivers_what_they_produce(app):
    member = enroll_member(app, balance=100)
    _age_apple_code(app, member.card_number, days=45)
    output = app.test_cli_runner().invoke(args=["worker", "--once"]).output
    assert "codes_rotated 1" in output
    assert "delivered 1 event(s)" in output  # the pass.changed of the rotation
    with runtime(app).sessions() as session:
        assert session.scalars(select(OutboxEvent.delivered_at)).one() is not None
