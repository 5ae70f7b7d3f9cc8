"""The points ledger: FIFO buckets, expiry that is safe to run twice, held points protected."""

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from gateway.models.base import utcnow
from gateway.models.ledger import LedgerEntry
from gateway.models.outbox import OutboxEvent
from gateway.pos.cardholder import by_account
from gateway.pos.ledger import Movement, Origin, apply_change
from gateway.runtime import runtime
from gateway.services.chores.points_expiry import expire_points
from tests.factories import enroll_member
from tests.integration.conftest import account_state, assert_ledger_consistent


def _buckets(app, account_id):
    with runtime(app).sessions() as session:
        return [tuple(row) for row in session.execute(
            select(LedgerEntry.kind, LedgerEntry.points, LedgerEntry.remaining)
            .where(LedgerEntry.account_id == account_id, LedgerEntry.points > 0)
            .order_by(LedgerEntry.id)
        )]


def _age_import_bucket(app, account_id, days=1):
    with runtime(app).sessions() as session:
        session.execute(
            update(LedgerEntry)
            .where(LedgerEntry.account_id == account_id, LedgerEntry.kind == "import")
            .values(expires_at=utcnow() - timedelta(days=days))
        )
        session.commit()


def test_spending_takes_the_oldest_expiring_points_first(app, till):
    member = enroll_member(app, balance=1000)
    till.accrue({"id": "o1", "total": "100", "currency": "EUR"}, card_number=member.card_number)
    checkout = till.checkout(member.google_scan())
    till.redeem(checkout, points=1050)
    assert _buckets(app, member.account_id) == [("import", 1000, 0), ("accrual", 100, 50)]
    assert_ledger_consistent(app)


def test_expiry_removes_expired_buckets_and_is_safe_to_run_twice(app, till):
    member = enroll_member(app, balance=1000)
    till.accrue({"id": "o1", "total": "100", "currency": "EUR"}, card_number=member.card_number)
    _age_import_bucket(app, member.account_id)
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["points", "expire"])
    assert result.exit_code == 0, result.output
    assert "expired 1000 point(s) on 1 account(s)" in result.output
    with runtime(app).sessions() as session:
        assert expire_points(session, utcnow()).points == 0
        expiries = list(session.scalars(select(LedgerEntry.points).where(
            LedgerEntry.kind == "expiry")))
        reasons = [e.payload["reason"] for e in session.scalars(select(OutboxEvent))]
    assert expiries == [-1000]
    assert reasons.count("expiry") == 1
    assert account_state(app, member.account_id) == (100, 0)
    assert_ledger_consistent(app)


def test_held_points_do_not_expire_while_held(app, till):
    member = enroll_member(app, balance=1000)
    checkout = till.checkout(member.google_scan())
    held = till.redeem(checkout, points=600, capture=False).json["redemption"]["id"]
    _age_import_bucket(app, member.account_id)
    with runtime(app).sessions() as session:
        assert expire_points(session, utcnow()).points == 400
    assert account_state(app, member.account_id) == (600, 600)
    till.post(f"/redemptions/{held}/void")
    with runtime(app).sessions() as session:
        assert expire_points(session, utcnow()).points == 600
    assert account_state(app, member.account_id) == (0, 0)
    assert_ledger_consistent(app)


def test_a_change_the_balance_cannot_cover_writes_nothing(app):
    member = enroll_member(app, balance=100)
    with runtime(app).sessions() as session:
        holder = by_account(session, member.account_id)
        with pytest.raises(Exception, match="insufficient_points"):
            apply_change(
                session, holder, [Movement("adjustment", -101)], Origin("test"), reason="test"
            )
        session.rollback()
        apply_change(session, holder, [Movement("adjustment", -100)], Origin("test"), reason="t")
        session.commit()
    assert account_state(app, member.account_id) == (0, 0)
    assert_ledger_consistent(app)
