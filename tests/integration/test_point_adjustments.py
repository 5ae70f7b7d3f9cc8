"""Operators adjust points: one ledger row per request id (retries and races included), the
ledger always sums to the balance, a debit never spends held points, every bad field is named."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from gateway.domain.errors import GatewayError
from gateway.models import AuditEvent, LedgerEntry, OutboxEvent
from gateway.runtime import runtime
from gateway.services.issue.card_admin import card_by_number
from gateway.services.operate.field_errors import FieldErrors
from gateway.services.operate.point_adjustments import Adjustment, adjust_points
from tests.factories import enroll_member
from tests.integration.conftest import account_state, assert_ledger_consistent, new_till, race


def _adjust(app, number: str, points: object, reason: object, rid: object) -> Adjustment:
    rt = runtime(app)
    with rt.sessions() as session:
        card = card_by_number(session, number, "demo")
        return adjust_points(session, card, points, reason, rid, "operator:7")


def _rows(app, model, *where):
    with runtime(app).sessions() as session:
        return list(session.scalars(select(model).where(*where).order_by(model.id)))


def _adjustment_rows(app):
    return _rows(app, LedgerEntry, LedgerEntry.kind == "adjustment")


def test_a_credit_is_a_bucket_with_an_event_and_an_audit_row(app):
    member = enroll_member(app, balance=100)

    result = _adjust(app, member.card_number, 250, "  Missed accrual, receipt 42 ", "req-00000001")

    assert (result.points, result.balance, result.repeated) == (250, 350, False)
    (row,) = _adjustment_rows(app)
    assert row.reference == "adjustment:req-00000001" and row.actor == "operator:7"
    assert row.remaining == 250 and row.expires_at is not None
    (audit,) = _rows(app, AuditEvent, AuditEvent.action == "points.adjusted")
    assert audit.subject == f"card:{member.card_number}"
    assert audit.details["before"] == {"balance": 100, "held": 0}
    assert audit.details["after"] == {"balance": 350, "held": 0}
    assert audit.details["reason"] == "Missed accrual, receipt 42"
    (event,) = _rows(app, OutboxEvent, OutboxEvent.kind == "balance.changed")
    assert event.payload["balance"] == 350 and event.payload["reason"] == "adjustment"
    assert event.payload["comment"] == "Missed accrual, receipt 42"
    assert_ledger_consistent(app)


def test_a_retry_answers_the_first_result_and_adds_nothing(app):
    member = enroll_member(app, balance=100)
    first = _adjust(app, member.card_number, -40, "Goodwill reversal", "req-retry-1")

    again = _adjust(app, member.card_number, -40, "Goodwill reversal", "req-retry-1")

    assert (first.balance, first.repeated) == (60, False)
    assert (again.balance, again.points, again.repeated) == (60, -40, True)
    assert len(_adjustment_rows(app)) == 1
    assert len(_rows(app, AuditEvent, AuditEvent.action == "points.adjusted")) == 1
    assert account_state(app, member.account_id) == (60, 0)
    assert_ledger_consistent(app)


def test_a_request_id_reused_for_another_amount_is_a_conflict(app):
    member = enroll_member(app, balance=100)
    _adjust(app, member.card_number, 10, "First", "req-reused-1")

    with pytest.raises(GatewayError) as refused:
        _adjust(app, member.card_number, 20, "Second", "req-reused-1")

    assert (refused.value.code, refused.value.status) == ("request_reused", 409)
    assert account_state(app, member.account_id) == (110, 0)


def test_a_debit_spends_the_oldest_buckets_first(app):
    member = enroll_member(app, balance=100)
    _adjust(app, member.card_number, 50, "Bonus", "req-fifo-001")

    _adjust(app, member.card_number, -120, "Duplicate import", "req-fifo-002")

    buckets = {row.kind: row.remaining for row in _rows(app, LedgerEntry, LedgerEntry.points > 0)}
    assert buckets == {"import": 0, "adjustment": 30}
    assert account_state(app, member.account_id) == (30, 0)
    assert_ledger_consistent(app)


def test_a_debit_beyond_the_spendable_points_changes_nothing(app):
    member = enroll_member(app, balance=1000)
    till = new_till(app)
    held = till.redeem(till.checkout(member.google_scan()), reward_id="coffee", capture=False)
    assert held.json["balance"] == {"points": 1000, "held": 500}
    events_before = len(_rows(app, OutboxEvent))

    with pytest.raises(GatewayError) as refused:
        _adjust(app, member.card_number, -501, "Too much", "req-too-much")

    assert (refused.value.code, refused.value.status) == ("insufficient_points", 409)
    assert account_state(app, member.account_id) == (1000, 500)
    assert _adjustment_rows(app) == []
    assert _rows(app, AuditEvent, AuditEvent.action == "points.adjusted") == []
    assert len(_rows(app, OutboxEvent)) == events_before
    # Exactly the spendable points is fine.
    assert _adjust(app, member.card_number, -500, "All free points", "req-exact-1").balance == 500
    assert_ledger_consistent(app)


@pytest.mark.parametrize(
    ("points", "reason", "rid", "fields"),
    [
        (0, "ok", "req-valid-01", {"points"}),
        ("12.5", "ok", "req-valid-01", {"points"}),
        (True, "ok", "req-valid-01", {"points"}),
        (10_000_001, "ok", "req-valid-01", {"points"}),
        (10, "", "req-valid-01", {"reason"}),
        (10, "   ", "req-valid-01", {"reason"}),
        (10, "x" * 201, "req-valid-01", {"reason"}),
        (10, "line\nbreak", "req-valid-01", {"reason"}),
        (10, "ok", "short", {"request_id"}),
        (10, "ok", "has space in it", {"request_id"}),
        ("-", None, None, {"points", "reason", "request_id"}),
    ],
)
def test_bad_fields_are_named_and_nothing_is_written(app, points, reason, rid, fields):
    member = enroll_member(app, balance=100)

    with pytest.raises(FieldErrors) as refused:
        _adjust(app, member.card_number, points, reason, rid)

    assert set(refused.value.fields) == fields and refused.value.status == 422
    assert _adjustment_rows(app) == []
    assert account_state(app, member.account_id) == (100, 0)


def test_a_reason_of_200_characters_is_accepted(app):
    member = enroll_member(app, balance=0)
    assert _adjust(app, member.card_number, "+5", "r" * 200, "req-long-reason").balance == 5


def _postgres(app) -> bool:
    return runtime(app).engine.dialect.name == "postgresql"


def test_concurrent_retries_of_one_request_add_one_row(app):
    if not _postgres(app):
        pytest.skip("a real race needs PostgreSQL (GATEWAY_TEST_DATABASE_URL)")
    member = enroll_member(app, balance=100)

    results = race(8, lambda _: _adjust(app, member.card_number, 25, "Race", "req-race-0001"))

    assert all(isinstance(r, Adjustment) for r in results), results
    assert sorted(r.repeated for r in results) == [False] + [True] * 7
    assert len(_adjustment_rows(app)) == 1
    assert account_state(app, member.account_id) == (125, 0)
    assert_ledger_consistent(app)


def test_concurrent_debits_never_overdraw(app):
    if not _postgres(app):
        pytest.skip("a real race needs PostgreSQL (GATEWAY_TEST_DATABASE_URL)")
    member = enroll_member(app, balance=100)

    results = race(8, lambda i: _adjust(app, member.card_number, -30, "Race", f"req-debit-{i:04d}"))

    done = [r for r in results if isinstance(r, Adjustment)]
    refused = [r for r in results if isinstance(r, GatewayError)]
    assert len(done) == 3 and len(refused) == 5, results
    assert {r.code for r in refused} == {"insufficient_points"}
    assert account_state(app, member.account_id) == (10, 0)
    assert_ledger_consistent(app)


def test_the_cli_adjusts_once_per_request_id(app):
    member = enroll_member(app, balance=10)
    runner = app.test_cli_runner()
    args = ["points", "adjust", member.card_number, "15", "--reason", "Phone order"]

    first = runner.invoke(args=[*args, "--request-id", "ticket-4711"])
    again = runner.invoke(args=[*args, "--request-id", "ticket-4711"])
    fresh = runner.invoke(args=args)  # no --request-id: a new one, so a second credit
    bad = runner.invoke(args=["points", "adjust", member.card_number, "-100", "--reason", "x"])
    empty = runner.invoke(args=["points", "adjust", member.card_number, "5", "--reason", " "])

    assert first.exit_code == 0 and "+15 points" in first.output, first.output
    assert again.exit_code == 0 and "already applied" in again.output
    assert fresh.exit_code == 0 and "balance 40" in fresh.output
    assert bad.exit_code != 0 and "not enough points" in bad.output
    assert empty.exit_code != 0 and "Say why" in empty.output
    assert account_state(app, member.account_id) == (40, 0)
    (audit, _) = _rows(app, AuditEvent, AuditEvent.action == "points.adjusted")
    assert audit.actor == "cli"
