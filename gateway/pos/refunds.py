"""Refunds: take back the order's accrued points in proportion and give back redeemed points.

Every refund of an account runs under the account's row lock, and (store, order, refund key) is
unique, so a retried refund moves points once. Accrued points already spent cannot be taken
back below zero: that shortfall is recorded on the refund as `points_unrecovered`.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from gateway.domain.errors import not_found, validation_error
from gateway.domain.points import proportional_points
from gateway.domain.pos_requests import RefundRequest
from gateway.models.base import utcnow
from gateway.models.pos import Accrual, Redemption, Refund
from gateway.pos.accruals import check_currency
from gateway.pos.cardholder import Cardholder, by_account
from gateway.pos.idempotency import IdempotentCall, PosAnswer, StoredAnswer, keyed_unit
from gateway.pos.ledger import Balance, Movement, Origin, apply_change, lock_account
from gateway.pos.terminals import TerminalContext
from gateway.runtime import Runtime


def create_refund(
    rt: Runtime, call: IdempotentCall, terminal: TerminalContext, request: RefundRequest
) -> StoredAnswer:
    """Refund (part of) an order, once per Idempotency-Key (committed here)."""
    return keyed_unit(rt, call, terminal, lambda session: refund(session, terminal, request))


def refund(session: Session, terminal: TerminalContext, request: RefundRequest) -> PosAnswer:
    """Apply one refund of an order (201), or answer the same refund again (200)."""
    now = utcnow()
    check_currency(session, terminal, request.currency)
    account_id = _order_account(session, terminal, request.order_id)
    lock_account(session, account_id)
    first = _existing(session, terminal, request)
    if first is not None:
        return first
    holder = by_account(session, account_id)
    accrual = session.scalar(
        select(Accrual).where(
            Accrual.store_id == terminal.store_id, Accrual.order_id == request.order_id
        )
    )
    redemptions = list(
        session.scalars(
            select(Redemption).where(
                Redemption.store_id == terminal.store_id,
                Redemption.order_id == request.order_id,
                Redemption.account_id == account_id,
                Redemption.status == "captured",
            )
        )
    )
    order_total = _order_total(
        accrual, redemptions, request, holder.refund_returns_redeemed_points
    )
    refunded_before = session.scalar(
        select(func.coalesce(func.sum(Refund.refund_total), 0)).where(
            Refund.store_id == terminal.store_id, Refund.order_id == request.order_id
        )
    )
    refunded = Decimal(refunded_before or 0) + request.refund_total
    if order_total is not None and refunded > order_total:
        raise validation_error("order.refund_total", "refunds would exceed the order total")

    to_reverse = 0
    if accrual is not None:
        target = proportional_points(accrual.points, refunded, order_total)
        to_reverse = max(target - accrual.reversed_points, 0)
        _set(session, Accrual, accrual.id, reversed_points=target)
    returned = 0
    if holder.refund_returns_redeemed_points:
        for redemption in redemptions:
            target = proportional_points(redemption.points, refunded, order_total)
            returned += max(target - redemption.returned_points, 0)
            _set(session, Redemption, redemption.id, returned_points=target)

    reversed_now = min(to_reverse, holder.balance - holder.held + returned)
    public_id = "rfd_" + secrets.token_hex(10)
    session.execute(
        insert(Refund).values(
            public_id=public_id,
            store_id=terminal.store_id,
            terminal_id=terminal.terminal_id,
            account_id=account_id,
            order_id=request.order_id,
            refund_key=request.refund_key,
            refund_total=request.refund_total,
            points_reversed=reversed_now,
            points_unrecovered=to_reverse - reversed_now,
            points_returned=returned,
            created_at=now,
        )
    )
    balance = _move(session, holder, terminal, request, public_id, reversed_now, returned)
    return PosAnswer(
        201,
        _body(public_id, request, reversed_now, to_reverse - reversed_now, returned, balance),
    )


def _order_account(session: Session, terminal: TerminalContext, order_id: str) -> int:
    """The account the order's accrual or redemptions belong to; not_found for unknown orders."""
    account_id = session.scalar(
        select(Accrual.account_id).where(
            Accrual.store_id == terminal.store_id, Accrual.order_id == order_id
        )
    )
    if account_id is None:
        account_id = session.scalar(
            select(Redemption.account_id)
            .where(Redemption.store_id == terminal.store_id, Redemption.order_id == order_id)
            .limit(1)
        )
    if account_id is None:
        raise not_found("order")
    return int(account_id)


def _order_total(
    accrual: Accrual | None,
    redemptions: list[Redemption],
    request: RefundRequest,
    returns_redeemed: bool,
) -> Decimal | None:
    """The order's total as recorded, else as the refund states it.

    Without any total a refund of 0.01 would count as the whole order, so a refund of an
    order with points to give back must then name the total (422 otherwise).
    """
    if accrual is not None:
        known: Decimal | None = accrual.order_total
    else:
        totals = [r.order_total for r in redemptions if r.order_total is not None]
        known = max(totals) if totals else None
    if known is not None:
        if request.order_total is not None and request.order_total != known:
            raise validation_error("order.total", f"the order's total is {known}")
        return known
    if request.order_total is not None:
        if request.order_total <= 0:
            raise validation_error("order.total", "must be more than zero")
        return request.order_total
    if redemptions and returns_redeemed:
        raise validation_error(
            "order.total",
            "the order's total is unknown: send order.total so the refund can be proportioned",
        )
    return None


def _set(
    session: Session, model: type[Accrual] | type[Redemption], row_id: int, **values: int
) -> None:
    session.execute(
        update(model)
        .where(model.id == row_id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )


def _move(
    session: Session,
    holder: Cardholder,
    terminal: TerminalContext,
    request: RefundRequest,
    public_id: str,
    reversed_points: int,
    returned_points: int,
) -> Balance:
    """One ledger change for the refund: the reversal and the return, one audit row, one event."""
    movements: list[Movement] = []
    if returned_points:
        expires_at = utcnow() + timedelta(days=holder.validity_days)
        movements.append(Movement("reversal", returned_points, 0, expires_at))
    if reversed_points:
        movements.append(Movement("reversal", -reversed_points))
    if not movements:
        return Balance(holder.balance, holder.held, holder.lifetime_points)
    origin = Origin(terminal.actor, terminal.store_id, request.order_id, f"refund:{public_id}")
    lifetime_change = -min(reversed_points, holder.lifetime_points)
    return apply_change(
        session, holder, movements, origin, reason="refund", lifetime_change=lifetime_change
    )


def _body(
    public_id: str,
    request: RefundRequest,
    reversed_points: int,
    unrecovered: int,
    returned: int,
    balance: Balance | Cardholder,
) -> dict[str, object]:
    points, held = (
        (balance.points, balance.held)
        if isinstance(balance, Balance)
        else (balance.balance, balance.held)
    )
    return {
        "refund": {
            "id": public_id,
            "order_id": request.order_id,
            "refund_total": str(request.refund_total),
            "points_reversed": reversed_points,
            "points_unrecovered": unrecovered,
            "points_returned": returned,
        },
        "balance": {"points": points, "held": held},
    }


def _existing(
    session: Session, terminal: TerminalContext, request: RefundRequest
) -> PosAnswer | None:
    """The same refund again (a retry, whatever the idempotency key): its first result."""
    first = session.scalar(
        select(Refund).where(
            Refund.store_id == terminal.store_id,
            Refund.order_id == request.order_id,
            Refund.refund_key == request.refund_key,
        )
    )
    if first is None:
        return None
    holder = by_account(session, first.account_id)
    body = _body(
        first.public_id,
        RefundRequest(first.order_id, first.refund_total, first.refund_key),
        first.points_reversed,
        first.points_unrecovered,
        first.points_returned,
        holder,
    )
    return PosAnswer(200, body)
