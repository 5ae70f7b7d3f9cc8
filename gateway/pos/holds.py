"""Two-phase redemptions: release holds past their TTL and give back stock and budget."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from gateway.models.pos import Redemption
from gateway.models.program import Program, Reward
from gateway.pos.cardholder import Cardholder, by_account
from gateway.pos.ledger import Balance, Movement, Origin, apply_change, lock_account


def redemption_ref(redemption: Redemption) -> str:
    """The ledger reference of a redemption."""
    return f"redemption:{redemption.public_id}"


def give_back_limits(
    session: Session, holder: Cardholder, reward_id: int | None, points: int
) -> None:
    """Return a reward's unit of stock, its budget and the program's campaign budget that a
    redemption had taken (a budget only while one is set: without one nothing was charged)."""
    if reward_id is not None:
        session.execute(
            update(Reward)
            .where(Reward.id == reward_id, Reward.stock.is_not(None))
            .values(stock=Reward.stock + 1)
            .execution_options(synchronize_session=False)
        )
        session.execute(
            update(Reward)
            .where(
                Reward.id == reward_id,
                Reward.budget_points.is_not(None),
                Reward.spent_points >= points,
            )
            .values(spent_points=Reward.spent_points - points)
            .execution_options(synchronize_session=False)
        )
    if holder.campaign_budget_points is not None:
        session.execute(
            update(Program)
            .where(Program.id == holder.program_id, Program.campaign_spent_points >= points)
            .values(campaign_spent_points=Program.campaign_spent_points - points)
            .execution_options(synchronize_session=False)
        )


def release_hold(
    session: Session, holder: Cardholder, redemption: Redemption, now: datetime, actor: str
) -> Balance | None:
    """Release one held redemption exactly once (None if it was no longer held)."""
    claimed = session.execute(
        update(Redemption)
        .where(Redemption.id == redemption.id, Redemption.status == "held")
        .values(status="released", settled_at=now)
        .execution_options(synchronize_session=False)
    )
    if getattr(claimed, "rowcount", 0) != 1:
        return None
    balance = apply_change(
        session,
        holder,
        [Movement("release", 0, -redemption.points)],
        Origin(actor, redemption.store_id, redemption.order_id, redemption_ref(redemption)),
        reason="hold_expired",
    )
    give_back_limits(session, holder, redemption.reward_id, redemption.points)
    return balance


def release_expired_holds_of(
    session: Session, holder: Cardholder, now: datetime
) -> tuple[Cardholder, int]:
    """Release the account's holds past their TTL in the caller's transaction.

    Returns the holder with its fresh balance, and how many holds were released.
    """
    if holder.held == 0:
        return holder, 0
    expired = list(
        session.scalars(
            select(Redemption).where(
                Redemption.account_id == holder.account_id,
                Redemption.status == "held",
                Redemption.hold_expires_at <= now,
            )
        )
    )
    if not expired:
        return holder, 0
    lock_account(session, holder.account_id)
    released = 0
    for redemption in expired:
        balance = release_hold(session, holder, redemption, now, "system")
        if balance is not None:
            holder = replace(holder, balance=balance.points, held=balance.held)
            released += 1
    return holder, released


def release_all_expired_holds(session: Session, now: datetime) -> int:
    """Release every hold past its TTL, one account per transaction; how many were released."""
    account_ids = list(
        session.scalars(
            select(Redemption.account_id)
            .where(Redemption.status == "held", Redemption.hold_expires_at <= now)
            .distinct()
        )
    )
    session.rollback()
    released = 0
    for account_id in account_ids:
        _, count = release_expired_holds_of(session, by_account(session, account_id), now)
        session.commit()
        released += count
    return released
