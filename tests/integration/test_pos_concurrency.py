"""Races through the real app from many threads: each effect happens exactly once."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import func, select

from gateway.models.ledger import LedgerEntry
from gateway.models.outbox import OutboxEvent
from gateway.models.pos import Refund, UsedCode
from gateway.runtime import runtime
from tests.factories import enroll_member
from tests.integration.conftest import account_state, assert_ledger_consistent, new_till, race

pytestmark = pytest.mark.slow


def _count(app, *where) -> int:
    with runtime(app).sessions() as session:
        return int(session.scalar(select(func.count()).where(*where)) or 0)


def test_64_concurrent_redemptions_of_500_against_2000_exactly_4_succeed(app):
    till = new_till(app)
    member = enroll_member(app, balance=2000)
    checkout = till.checkout(member.google_scan())
    clients = [app.test_client() for _ in range(64)]

    def redeem(i: int) -> tuple[int, str]:
        response = clients[i].post(
            "/pos/v1/redemptions",
            json={"checkout": checkout, "reward_id": "coffee"},
            headers=till.headers(f"key-{i}"),
        )
        return response.status_code, response.json.get("error", {}).get("code", "")

    results = race(64, redeem)
    assert Counter(results) == {(201, ""): 4, (409, "insufficient_points"): 60}
    assert account_state(app, member.account_id) == (0, 0)
    assert _count(app, OutboxEvent.kind == "balance.changed") == 4
    assert_ledger_consistent(app)


def test_same_code_from_16_terminals_opens_exactly_one_checkout(app):
    member = enroll_member(app)
    tills = [new_till(app, f"S{i % 4}") for i in range(16)]
    scan = member.apple_scan()
    results = race(16, lambda i: tills[i].identify(scan))
    codes = Counter(
        (r.status_code, r.json.get("error", {}).get("code", "")) for r in results
    )
    assert codes == {(200, ""): 1, (409, "code_already_used"): 15}
    assert _count(app, UsedCode.id.is_not(None)) == 1
    assert _count(app, OutboxEvent.kind == "pass.changed") == 1


def test_same_idempotency_key_50_times_has_one_effect(app):
    till = new_till(app)
    member = enroll_member(app, balance=5000)
    checkout = till.checkout(member.google_scan())
    clients = [app.test_client() for _ in range(50)]
    body = {"checkout": checkout, "points": 100}

    def redeem(i: int) -> tuple[int, bytes]:
        response = clients[i].post(
            "/pos/v1/redemptions", json=body, headers=till.headers("same-key")
        )
        return response.status_code, response.data

    results = race(50, redeem)
    statuses = Counter(status for status, _ in results)
    assert set(statuses) <= {201, 409}
    assert statuses[201] >= 1
    assert len({data for status, data in results if status == 201}) == 1
    for status, data in results:
        if status == 409:
            assert b"idempotency_in_progress" in data
    assert account_state(app, member.account_id) == (4900, 0)
    assert _count(app, LedgerEntry.kind == "redemption") == 1
    replay = clients[0].post("/pos/v1/redemptions", json=body, headers=till.headers("same-key"))
    assert replay.data == next(data for status, data in results if status == 201)


@pytest.mark.parametrize("same_key", [True, False])
def test_retried_refund_of_an_order_paid_partly_with_points_moves_points_once(app, same_key):
    till = new_till(app)
    member = enroll_member(app, balance=1000)
    checkout = till.checkout(member.google_scan())
    order = {"id": "ORDER-7", "total": "30.00", "currency": "EUR"}
    assert till.redeem(checkout, reward_id="coffee", order=order).status_code == 201
    assert till.accrue(order, checkout=checkout).status_code == 201
    before = account_state(app, member.account_id)
    assert before == (530, 0)
    clients = [app.test_client() for _ in range(12)]

    def refund(i: int) -> int:
        key = "refund-1" if same_key else f"refund-{i}"
        response = clients[i].post(
            "/pos/v1/refunds",
            json={"order": {"id": "ORDER-7", "refund_total": "30.00"}},
            headers=till.headers(key),
        )
        return response.status_code

    statuses = Counter(race(12, refund))
    assert statuses[201] == 1 if not same_key else statuses[201] >= 1
    assert set(statuses) <= {200, 201, 409}
    assert account_state(app, member.account_id) == (1000, 0)
    assert _count(app, Refund.id.is_not(None)) == 1
    assert _count(app, LedgerEntry.reference.like("refund:%")) == 2  # return + reversal rows
    assert_ledger_consistent(app)


def test_concurrent_accruals_of_one_order_accrue_once(app):
    tills = [new_till(app) for _ in range(8)]
    member = enroll_member(app, balance=0)
    order = {"id": "SAME", "total": "42", "currency": "EUR"}
    results = race(8, lambda i: tills[i].accrue(order, card_number=member.card_number))
    assert sorted(r.status_code for r in results) == [200] * 7 + [201]
    assert len({r.json["accrual"]["id"] for r in results}) == 1
    assert account_state(app, member.account_id) == (42, 0)
