"""POST /pos/v1/refunds: proportional reversal, redeemed points back per policy, never twice."""

from sqlalchemy import update

from gateway.models.program import Program
from gateway.runtime import runtime
from tests.factories import enroll_member
from tests.integration.conftest import account_state, assert_ledger_consistent


def _accrue(till, member, order_id="R-1", total="100.00"):
    order = {"id": order_id, "total": total, "currency": "EUR"}
    response = till.accrue(order, card_number=member.card_number)
    assert response.status_code == 201, response.json
    return response.json["accrual"]["points"]


def test_partial_refunds_reverse_in_proportion_and_accumulate(app, till):
    member = enroll_member(app, balance=0)
    assert _accrue(till, member) == 100
    first = till.refund({"id": "R-1", "refund_total": "25.00"})
    assert first.status_code == 201, first.json
    assert first.json["refund"]["points_reversed"] == 25
    assert first.json["balance"] == {"points": 75, "held": 0}
    second = till.refund({"id": "R-1", "refund_total": "30.00", "refund_id": "second"})
    assert second.json["refund"]["points_reversed"] == 30
    too_much = till.refund({"id": "R-1", "refund_total": "45.01", "refund_id": "third"})
    assert too_much.status_code == 422
    assert too_much.json["error"]["code"] == "validation_error"
    rest = till.refund({"id": "R-1", "refund_total": "45.00", "refund_id": "third"})
    assert rest.json["refund"]["points_reversed"] == 45
    assert account_state(app, member.account_id) == (0, 0)
    assert_ledger_consistent(app)


def test_a_retried_refund_moves_points_once_whatever_the_key(app, till):
    member = enroll_member(app, balance=0)
    _accrue(till, member)
    first = till.refund({"id": "R-1", "refund_total": "40"})
    again = till.refund({"id": "R-1", "refund_total": "40"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json["refund"] == first.json["refund"]
    assert account_state(app, member.account_id) == (60, 0)


def test_refund_of_an_order_paid_partly_with_points_returns_them(app, till):
    member = enroll_member(app, balance=1000)
    checkout = till.checkout(member.google_scan())
    order = {"id": "P-1", "total": "20.00", "currency": "EUR"}
    assert till.redeem(checkout, reward_id="coffee", order=order).status_code == 201
    assert till.accrue(order, checkout=checkout).status_code == 201
    assert account_state(app, member.account_id) == (1000 - 500 + 20, 0)
    half = till.refund({"id": "P-1", "refund_total": "10.00"})
    assert half.json["refund"] == {
        "id": half.json["refund"]["id"], "order_id": "P-1", "refund_total": "10.00",
        "points_reversed": 10, "points_unrecovered": 0, "points_returned": 250,
    }
    rest = till.refund({"id": "P-1", "refund_total": "10.00", "refund_id": "rest"})
    assert rest.json["refund"]["points_returned"] == 250
    assert account_state(app, member.account_id) == (1000, 0)
    assert_ledger_consistent(app)


def test_policy_can_keep_redeemed_points(app, till):
    with runtime(app).sessions() as session:
        session.execute(update(Program).values(refund_returns_redeemed_points=False))
        session.commit()
    member = enroll_member(app, balance=1000)
    checkout = till.checkout(member.google_scan())
    till.redeem(checkout, points=300, order={"id": "K-1"})
    response = till.refund({"id": "K-1", "refund_total": "5"})
    assert response.status_code == 201
    assert response.json["refund"]["points_returned"] == 0
    assert account_state(app, member.account_id) == (700, 0)


def test_spent_points_are_not_taken_below_zero(app, till):
    member = enroll_member(app, balance=0)
    _accrue(till, member)
    checkout = till.checkout(member.google_scan())
    till.redeem(checkout, points=80)
    response = till.refund({"id": "R-1", "refund_total": "100.00"})
    assert response.json["refund"]["points_reversed"] == 20
    assert response.json["refund"]["points_unrecovered"] == 80
    assert account_state(app, member.account_id) == (0, 0)
    assert_ledger_consistent(app)


def test_unknown_order_is_not_found(app, till):
    response = till.refund({"id": "nope", "refund_total": "1"})
    assert response.status_code == 404
    assert response.json["error"]["code"] == "not_found"


def test_bad_refund_bodies(app, till):
    for order in ({"id": "x"}, {"id": "x", "refund_total": 0}, {"id": "x", "refund_total": -5},
                  {"refund_total": 5}, "x", None, {"id": "x", "refund_total": "1e3000"}):
        response = till.refund(order)
        assert response.status_code == 422, (order, response.json)
        assert response.json["error"]["code"] == "validation_error"


def test_refund_of_an_order_without_a_known_total_must_name_the_total(app, till):
    # A redemption-only order without a total: 0.01 once gave back all 300 points.
    member = enroll_member(app, balance=1000)
    checkout = till.checkout(member.google_scan())
    assert till.redeem(checkout, points=300, order={"id": "N-1"}).status_code == 201
    refused = till.refund({"id": "N-1", "refund_total": "0.01"})
    assert refused.status_code == 422
    assert refused.json["error"]["code"] == "validation_error"
    assert refused.json["error"]["field"] == "order.total"
    assert account_state(app, member.account_id) == (700, 0)
    small = till.refund({"id": "N-1", "refund_total": "0.01", "total": "20.00"})
    assert small.status_code == 201 and small.json["refund"]["points_returned"] == 0
    rest = till.refund({"id": "N-1", "refund_total": "19.99", "total": "20.00", "refund_id": "r"})
    assert rest.status_code == 201 and rest.json["refund"]["points_returned"] == 300
    assert account_state(app, member.account_id) == (1000, 0)
    assert_ledger_consistent(app)


def test_a_stated_total_must_match_the_known_one(app, till):
    member = enroll_member(app, balance=1000)
    checkout = till.checkout(member.google_scan())
    order = {"id": "M-1", "total": "20.00", "currency": "EUR"}
    assert till.redeem(checkout, points=300, order=order).status_code == 201
    response = till.refund({"id": "M-1", "refund_total": "1.00", "total": "30.00"})
    assert response.status_code == 422 and response.json["error"]["field"] == "order.total"
