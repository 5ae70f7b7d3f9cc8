"""Accruals: points for an order (total x rate x tier multiplier), once per store and order id."""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gateway.domain.errors import validation_error
from gateway.domain.points import accrual_points, upgraded_tier
from gateway.domain.pos_requests import AccrualRequest, check_accrual_fits
from gateway.models.base import utcnow
from gateway.models.member import Member
from gateway.models.pos import Accrual
from gateway.models.program import Program
from gateway.pos import cardholder, errors
from gateway.pos.cardholder import Cardholder, tier_rules
from gateway.pos.checkout import CheckoutSigner, live_checkout
from gateway.pos.idempotency import IdempotentCall, PosAnswer, StoredAnswer, keyed_unit
from gateway.pos.ledger import Balance, Movement, Origin, move_points, record_change
from gateway.pos.terminals import TerminalContext
from gateway.runtime import Runtime


def create_accrual(
    rt: Runtime, call: IdempotentCall, terminal: TerminalContext, request: AccrualRequest
) -> StoredAnswer:
    """Earn points for an order, once per Idempotency-Key (committed here)."""
    signer = rt.checkout_signer
    return keyed_unit(rt, call, terminal, lambda s: accrue(s, signer, terminal, request))


def accrue(
    session: Session, signer: CheckoutSigner, terminal: TerminalContext, request: AccrualRequest
) -> PosAnswer:
    """Earn points for an order; a repeat of the same store + order answers the first accrual."""
    now = utcnow()
    order = request.order
    check_currency(session, terminal, order.currency)
    first = _existing(session, terminal, order.id)
    if first is not None:
        return first
    holder = _cardholder(session, signer, terminal, request)
    if holder.card_status == "revoked":
        raise errors.card_revoked()
    assert order.total is not None and order.currency is not None
    points = accrual_points(order.total, holder.points_per_unit, holder.earn_multiplier)
    check_accrual_fits(points, holder.balance)
    public_id = "acr_" + secrets.token_hex(10)
    try:
        with session.begin_nested():
            session.execute(
                insert(Accrual).values(
                    public_id=public_id,
                    account_id=holder.account_id,
                    card_id=holder.card_id,
                    store_id=terminal.store_id,
                    terminal_id=terminal.terminal_id,
                    order_id=order.id,
                    order_total=order.total,
                    currency=order.currency,
                    points=points,
                    created_at=now,
                )
            )
    except IntegrityError:
        repeated = _existing(session, terminal, order.id)
        if repeated is None:
            raise
        return repeated
    balance = Balance(holder.balance, holder.held, holder.lifetime_points)
    tier = holder.tier
    if points > 0:
        origin = Origin(terminal.actor, terminal.store_id, order.id, f"accrual:{public_id}")
        bucket = Movement("accrual", points, 0, now + timedelta(days=holder.validity_days))
        balance = move_points(
            session, holder.account_id, [bucket], origin, lifetime_change=points
        )
        tier = _upgrade_tier(session, holder, balance.lifetime_points)
        record_change(
            session, holder, balance, origin, reason="accrual", points=points, tier=tier
        )
    return PosAnswer(
        201,
        {
            "accrual": {"id": public_id, "points": points, "order_id": order.id},
            "balance": balance.as_json(),
            "member": {"tier": tier},
        },
    )


def check_currency(session: Session, terminal: TerminalContext, currency: str | None) -> None:
    """422 `currency_mismatch` when an order's currency is not the program's (None: not given).

    Checked before anything else, a retry included: 10000 JPY on a EUR program must never earn
    points at the EUR rate."""
    if currency is None:
        return
    expected = session.scalar(select(Program.currency).where(Program.id == terminal.program_id))
    if expected is not None and currency != expected:
        raise errors.currency_mismatch(expected, currency)


def _cardholder(
    session: Session, signer: CheckoutSigner, terminal: TerminalContext, request: AccrualRequest
) -> Cardholder:
    if request.checkout is not None:
        return live_checkout(session, signer, terminal, request.checkout, utcnow())
    assert request.card_number is not None
    holder = cardholder.by_number(session, terminal.program_id, request.card_number)
    if holder is None:
        raise errors.unknown_card()
    if not holder.accrual_by_card_number:
        raise validation_error("card_number", "this program accrues points only after a scan")
    return holder


def _existing(session: Session, terminal: TerminalContext, order_id: str) -> PosAnswer | None:
    """The first accrual of this store + order, answered with 200 and the current balance."""
    row = session.execute(
        select(Accrual.public_id, Accrual.points, Accrual.account_id).where(
            Accrual.store_id == terminal.store_id, Accrual.order_id == order_id
        )
    ).first()
    if row is None:
        return None
    holder = cardholder.by_account(session, row[2])
    return PosAnswer(
        200,
        {
            "accrual": {"id": row[0], "points": row[1], "order_id": order_id},
            "balance": {"points": holder.balance, "held": holder.held},
            "member": {"tier": holder.tier},
        },
    )


def _upgrade_tier(session: Session, holder: Cardholder, lifetime_points: int) -> str:
    """Move the member up to the tier their lifetime points reach (never down here)."""
    earned = upgraded_tier(holder.tier, lifetime_points, tier_rules(session, holder.program_id))
    if earned is None:
        return holder.tier
    session.execute(
        update(Member)
        .where(Member.id == holder.member_id)
        .values(tier=earned.name)
        .execution_options(synchronize_session=False)
    )
    return earned.name
