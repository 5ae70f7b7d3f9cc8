"""Validation of POS bodies: money, points, orders and refunds."""

from decimal import Decimal

import pytest

from gateway.domain.errors import GatewayError
from gateway.domain.pos_requests import (
    accrual_request,
    money,
    redemption_request,
    refund_request,
    scan_text,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0, "0.00"), (12, "12.00"), (12.5, "12.50"), ("12.34", "12.34"), ("1.500", "1.50"),
     (10_000_000, "10000000.00")],
)
def test_money_accepts(value, expected):
    assert money(value, "total") == Decimal(expected)


@pytest.mark.parametrize(
    "value",
    [-0.01, "1.001", 10_000_000.01, "abc", "", None, True, [], {}, float("nan"), float("inf"),
     "Infinity", "1e400", 10**40],
)
def test_money_rejects(value):
    with pytest.raises(GatewayError) as caught:
        money(value, "total")
    assert (caught.value.code, caught.value.status, caught.value.field) == (
        "validation_error", 422, "total",
    )


def test_redemption_request():
    parsed = redemption_request({"checkout": "co_1", "reward_id": "coffee"})
    assert (parsed.reward_code, parsed.points, parsed.capture, parsed.order) == (
        "coffee", None, True, None,
    )
    held = redemption_request({"checkout": "co_1", "points": 5, "capture": False,
                               "order": {"id": "o"}})
    assert (held.points, held.capture, held.order.id, held.order.total) == (5, False, "o", None)
    for body in ({"checkout": "co_1"}, {"checkout": "co_1", "points": 1, "reward_id": "x"},
                 {"checkout": "co_1", "points": 10_000_001}, {"points": 1},
                 {"checkout": "co_1", "points": 1, "order": {"id": "o", "total": "1"}}):
        with pytest.raises(GatewayError):
            redemption_request(body)


def test_accrual_and_refund_requests():
    parsed = accrual_request({"card_number": "1", "order": {"id": "o", "total": 1,
                                                              "currency": "EUR"}})
    assert (parsed.card_number, parsed.order.total, parsed.order.currency) == (
        "1", Decimal("1.00"), "EUR",
    )
    same_amount = refund_request({"order": {"id": "o", "refund_total": "5"}})
    other_id = refund_request({"order": {"id": "o", "refund_total": "5", "refund_id": "r2"}})
    assert same_amount.refund_key == refund_request(
        {"order": {"id": "o", "refund_total": 5.0}}
    ).refund_key
    assert same_amount.refund_key != other_id.refund_key


def test_scan_must_be_a_string():
    assert scan_text({"scan": "x"}) == "x"
    with pytest.raises(GatewayError) as caught:
        scan_text({"scan": 1})
    assert caught.value.code == "malformed_scan"
