"""POST /pos/v1/accruals: total x rate x tier multiplier, once per store + order id."""

import pytest
from sqlalchemy import select, update

from gateway.models.member import Member
from gateway.models.program import Program
from gateway.runtime import runtime
from tests.factories import enroll_member
from tests.integration.conftest import account_state, assert_ledger_consistent, new_till


def _order(order_id="A-1", total="12.34", currency="EUR"):
    return {"id": order_id, "total": total, "currency": currency}


def test_accrual_by_checkout_floors_total_times_rate(app, till):
    member = enroll_member(app, balance=0)
    checkout = till.checkout(member.google_scan())
    response = till.accrue(_order(total=12.99), checkout=checkout)
    assert response.status_code == 201, response.json
    assert response.json["accrual"]["points"] == 12
    assert response.json["accrual"]["id"].startswith("acr_")
    assert response.json["balance"] == {"points": 12, "held": 0}
    assert_ledger_consistent(app)


def test_tier_multiplier_and_program_rate(app, till):
    silver = enroll_member(app, balance=0, tier="Silver")
    response = till.accrue(_order(total="100.00"), card_number=silver.card_number)
    assert response.json["accrual"]["points"] == 125
    with runtime(app).sessions() as session:
        session.execute(update(Program).values(points_per_currency_unit=2))
        session.commit()
    gold = enroll_member(app, balance=0, tier="Gold")
    assert till.accrue(_order("A-2", "10"), card_number=gold.card_number).json[
        "accrual"]["points"] == 30


def test_same_store_and_order_accrues_once_whatever_the_key(app, till):
    member = enroll_member(app, balance=0)
    first = till.accrue(_order(total="50"), card_number=member.card_number)
    again = till.accrue(_order(total="70"), card_number=member.card_number)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json["accrual"] == first.json["accrual"]
    assert account_state(app, member.account_id) == (50, 0)
    other_store = new_till(app, "S2")
    assert other_store.accrue(_order(total="5"), card_number=member.card_number).status_code == 201


def test_accrual_by_card_number_follows_program_policy(app, till):
    member = enroll_member(app)
    with runtime(app).sessions() as session:
        session.execute(update(Program).values(accrual_by_card_number=False))
        session.commit()
    response = till.accrue(_order(), card_number=member.card_number)
    assert response.status_code == 422
    assert response.json["error"]["code"] == "validation_error"
    checkout = till.checkout(member.google_scan())
    assert till.accrue(_order(), checkout=checkout).status_code == 201


def test_legacy_crm_number_still_accrues(app, till):
    member = enroll_member(app, card_number="CRM-42")
    response = till.accrue(_order(total="3"), card_number="CRM-42")
    assert response.status_code == 201
    assert account_state(app, member.account_id) == (3, 0)


def test_unknown_card_number(app, till):
    enroll_member(app)
    response = till.accrue(_order(), card_number="7000000000000001")
    assert response.status_code == 404
    assert response.json["error"]["code"] == "unknown_card"


def test_lifetime_points_raise_the_tier(app, till):
    member = enroll_member(app, balance=900, tier="Bronze")
    response = till.accrue(_order(total="150"), card_number=member.card_number)
    assert response.json["member"]["tier"] == "Silver"
    with runtime(app).sessions() as session:
        assert session.scalar(select(Member.tier).where(Member.id == member.member_id)) == "Silver"


@pytest.mark.parametrize(
    ("order", "field"),
    [
        (_order(total=-1), "order.total"),
        (_order(total="10000000.01"), "order.total"),
        (_order(total=1e400), "order.total"),
        (_order(total="NaN"), "order.total"),
        (_order(total="abc"), "order.total"),
        (_order(total="1.999"), "order.total"),
        (_order(total=True), "order.total"),
        (_order(total=None), "order.total"),
        (_order(total=[1]), "order.total"),
        (_order(currency="eur"), "order.currency"),
        (_order(currency="EURO"), "order.currency"),
        (_order(currency=None), "order.currency"),
        (_order(order_id=""), "order.id"),
        (_order(order_id=123), "order.id"),
        (_order(order_id="x" * 101), "order.id"),
        ("not an object", "order"),
        (None, "order"),
    ],
)
def test_bad_orders_are_validation_errors(app, till, order, field):
    member = enroll_member(app)
    response = till.accrue(order, card_number=member.card_number)
    assert response.status_code == 422, response.json
    assert response.json["error"]["code"] == "validation_error"
    assert response.json["error"]["field"] == field
    assert account_state(app, member.account_id) == (0, 0)


def test_neither_or_both_card_references(app, till):
    member = enroll_member(app)
    checkout = till.checkout(member.google_scan())
    assert till.accrue(_order()).json["error"]["code"] == "validation_error"
    both = till.accrue(_order(), checkout=checkout, card_number=member.card_number)
    assert both.json["error"]["code"] == "validation_error"
