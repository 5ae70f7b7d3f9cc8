"""Validation of POS request bodies into typed requests (pure; raises validation_error)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from gateway.domain.errors import GatewayError, validation_error

MAX_ORDER_TOTAL = Decimal(10_000_000)
MAX_POINTS = 10_000_000
# One accrual may earn at most this; a balance may not pass MAX_BALANCE (the largest integer a
# JavaScript till reads exactly). The gap up to the BIGINT columns' 2^63 - 1 is far more than
# any number of concurrent accruals can add, so no balance can overflow its column.
MAX_ACCRUAL_POINTS = 10**12
MAX_BALANCE = 2**53 - 1
MAX_ORDER_ID_LENGTH = 100
MAX_TOKEN_LENGTH = 200
_CURRENCY = re.compile(r"[A-Z]{3}")


@dataclass(frozen=True, slots=True)
class Order:
    """The till's order: its id, and its total and currency when given."""

    id: str
    total: Decimal | None
    currency: str | None


@dataclass(frozen=True, slots=True)
class RedemptionRequest:
    """Spend a reward or a number of points within a checkout, one-step or as a hold."""

    checkout: str
    reward_code: str | None
    points: int | None
    order: Order | None
    capture: bool


@dataclass(frozen=True, slots=True)
class AccrualRequest:
    """Earn points for an order, by checkout token or by bare card number."""

    checkout: str | None
    card_number: str | None
    order: Order


@dataclass(frozen=True, slots=True)
class RefundRequest:
    """Refund part or all of an order; `refund_key` tells two refunds apart from a retry."""

    order_id: str
    refund_total: Decimal
    refund_key: str
    # The order's full total, for an order the gateway knows no total of (redemptions only).
    order_total: Decimal | None = None
    # The refund's currency when the till sends it (it must be the program's).
    currency: str | None = None


def scan_text(body: dict[str, Any]) -> str:
    """The raw `scan` string (malformed_scan when absent or not a string)."""
    scan = body.get("scan")
    if not isinstance(scan, str):
        raise GatewayError("malformed_scan", "the scan must be a string", 400)
    return scan


def money(value: Any, field: str) -> Decimal:
    """A non-negative amount with at most 2 decimals and at most 10,000,000."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise validation_error(field, "must be a number")
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise validation_error(field, "must be a number") from None
    if not amount.is_finite():
        raise validation_error(field, "must be a finite number")
    if amount < 0:
        raise validation_error(field, "must not be negative")
    if amount > MAX_ORDER_TOTAL:
        raise validation_error(field, "is larger than any order can be")
    if amount != amount.quantize(Decimal("0.01")):
        raise validation_error(field, "has more than 2 decimals")
    return amount.quantize(Decimal("0.01"))


def _text(value: Any, field: str, max_length: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise validation_error(field, "must be a non-empty string")
    if len(value) > max_length or not value.isprintable():
        raise validation_error(field, f"must be printable and at most {max_length} characters")
    return value.strip()


def _currency(value: Any, field: str) -> str:
    if not isinstance(value, str) or not _CURRENCY.fullmatch(value):
        raise validation_error(field, "must be an ISO 4217 code such as EUR")
    return value


def order(value: Any, *, require_total: bool) -> Order:
    """An order object: `id`, and `total` + `currency` (required for accruals)."""
    if not isinstance(value, dict):
        raise validation_error("order", "must be an object")
    order_id = _text(value.get("id"), "order.id", MAX_ORDER_ID_LENGTH)
    total = value.get("total")
    currency = value.get("currency")
    if require_total or total is not None or currency is not None:
        return Order(order_id, money(total, "order.total"), _currency(currency, "order.currency"))
    return Order(order_id, None, None)


def check_accrual_fits(points: int, balance: int) -> None:
    """422 `validation_error` (order.total) when an accrual would earn absurdly many points."""
    if points > MAX_ACCRUAL_POINTS:
        raise validation_error(
            "order.total", f"earns more than {MAX_ACCRUAL_POINTS} points, more than any order may"
        )
    if balance + points > MAX_BALANCE:
        raise validation_error(
            "order.total", "would take the balance past the largest balance a card can hold"
        )


def _points(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise validation_error("points", "must be a whole number")
    if not 0 < value <= MAX_POINTS:
        raise validation_error("points", f"must be between 1 and {MAX_POINTS}")
    return value


def checkout_token(value: Any, field: str = "checkout") -> str:
    """A checkout token string."""
    return _text(value, field, MAX_TOKEN_LENGTH)


def redemption_request(body: dict[str, Any]) -> RedemptionRequest:
    """Parse `POST /redemptions`: exactly one of reward_id and points."""
    reward = body.get("reward_id")
    points = body.get("points")
    if (reward is None) == (points is None):
        raise validation_error("reward_id", "give either reward_id or points")
    capture = body.get("capture", True)
    if not isinstance(capture, bool):
        raise validation_error("capture", "must be true or false")
    raw_order = body.get("order")
    return RedemptionRequest(
        checkout=checkout_token(body.get("checkout")),
        reward_code=_text(reward, "reward_id", 64) if reward is not None else None,
        points=_points(points) if points is not None else None,
        order=order(raw_order, require_total=False) if raw_order is not None else None,
        capture=capture,
    )


def accrual_request(body: dict[str, Any]) -> AccrualRequest:
    """Parse `POST /accruals`: a checkout or a card number, and a full order."""
    token = body.get("checkout")
    number = body.get("card_number")
    if (token is None) == (number is None):
        raise validation_error("checkout", "give either checkout or card_number")
    return AccrualRequest(
        checkout=checkout_token(token) if token is not None else None,
        card_number=_text(number, "card_number", 64) if number is not None else None,
        order=order(body.get("order"), require_total=True),
    )


def refund_request(body: dict[str, Any]) -> RefundRequest:
    """Parse `POST /refunds`: `order.id`, `order.refund_total`, optional `order.refund_id`,
    `order.currency` and `order.total` (needed when the order was only redeemed on, without a
    total).

    Without a refund id, two refunds of the same order and amount are taken as one retried refund.
    """
    raw = body.get("order")
    if not isinstance(raw, dict):
        raise validation_error("order", "must be an object")
    order_id = _text(raw.get("id"), "order.id", MAX_ORDER_ID_LENGTH)
    total = money(raw.get("refund_total"), "order.refund_total")
    if total <= 0:
        raise validation_error("order.refund_total", "must be more than zero")
    order_total = money(raw["total"], "order.total") if raw.get("total") is not None else None
    raw_currency = raw.get("currency")
    currency = _currency(raw_currency, "order.currency") if raw_currency is not None else None
    refund_id = raw.get("refund_id")
    if refund_id is None:
        return RefundRequest(order_id, total, f"total:{total}", order_total, currency)
    key = f"id:{_text(refund_id, 'order.refund_id', 100)}"
    return RefundRequest(order_id, total, key, order_total, currency)
