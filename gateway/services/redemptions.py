"""Redemptions: spend a reward or points in a checkout, one-step or as a hold; capture; void."""

from __future__ import annotations

import secrets
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from gateway.domain.errors import GatewayError, not_found
from gateway.domain.points import meets_min_tier
from gateway.domain.pos_requests import RedemptionRequest
from gateway.models.base import utcnow
from gateway.models.pos import Redemption
from gateway.models.program import Program, Reward
from gateway.runtime import Runtime
from gateway.services.cardholder import Cardholder, by_account, tier_rules
from gateway.services.checkout import iso, live_checkout
from gateway.services.holds import (
    give_back_limits,
    redemption_ref,
    release_expired_holds_of,
    release_hold,
)
from gateway.services.idempotency import PosAnswer
from gateway.services.ledger import Balance, Movement, Origin, apply_change, lock_account
from gateway.services.pos_settings import pos_settings
from gateway.services.terminals import TerminalContext


def _unavailable(message: str) -> GatewayError:
    return GatewayError("reward_unavailable", message, 409)


def _limit_reached(message: str) -> GatewayError:
    return GatewayError("limit_reached", message, 409)


def _number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def redeem(
    session: Session, rt: Runtime, terminal: TerminalContext, request: RedemptionRequest
) -> PosAnswer:
    """Spend points within a live checkout; the kill switches are read fresh on every call."""
    now = utcnow()
    holder = live_checkout(session, terminal, request.checkout, now)
    if not holder.redemptions_enabled:
        raise _unavailable("redemptions are paused for this program")
    reward = _reward(session, holder, request.reward_code) if request.reward_code else None
    points = reward.cost_points if reward is not None else (request.points or 0)
    holder, _ = release_expired_holds_of(session, holder, now)
    public_id = "rdm_" + secrets.token_hex(10)
    order = request.order
    origin = Origin(
        terminal.actor, terminal.store_id, order.id if order else None, f"redemption:{public_id}"
    )
    movement = (
        Movement("redemption", -points) if request.capture else Movement("hold", 0, points)
    )
    balance = apply_change(
        session,
        holder,
        [movement],
        origin,
        reason="redemption" if request.capture else "hold",
        reward=reward.code if reward is not None else None,
    )
    _check_daily_limits(session, holder, reward, now)
    _take_stock_and_budget(session, holder, reward, points)
    status = "captured" if request.capture else "held"
    hold_expires_at = None if request.capture else now + pos_settings(rt).hold_ttl
    session.execute(
        insert(Redemption).values(
            public_id=public_id,
            account_id=holder.account_id,
            card_id=holder.card_id,
            store_id=terminal.store_id,
            terminal_id=terminal.terminal_id,
            reward_id=reward.id if reward is not None else None,
            points=points,
            status=status,
            discount_percent=reward.discount_percent if reward is not None else None,
            order_id=order.id if order else None,
            order_total=order.total if order else None,
            currency=order.currency if order else None,
            hold_expires_at=hold_expires_at,
            created_at=now,
            settled_at=now if request.capture else None,
        )
    )
    body: dict[str, Any] = {"id": public_id, "status": status, "points": points}
    if reward is not None:
        body["reward"] = {"id": reward.code, "name": reward.name}
        if reward.discount_percent:
            body["discount"] = {"percent": _number(reward.discount_percent)}
    if hold_expires_at is not None:
        body["hold_expires_at"] = iso(hold_expires_at)
    return PosAnswer(201, {"redemption": body, "balance": balance.as_json()})


def _reward(session: Session, holder: Cardholder, code: str) -> Reward:
    reward = session.scalar(
        select(Reward).where(Reward.program_id == holder.program_id, Reward.code == code)
    )
    if reward is None:
        raise not_found(f"reward {code!r}")
    if not reward.enabled:
        raise _unavailable(f"{reward.name} is not available right now")
    if reward.stock is not None and reward.stock <= 0:
        raise _unavailable(f"{reward.name} is out of stock")
    if reward.min_tier and not meets_min_tier(
        holder.tier, reward.min_tier, tier_rules(session, holder.program_id)
    ):
        raise _unavailable(f"{reward.name} is for {reward.min_tier} members and above")
    return reward


def _check_daily_limits(
    session: Session, holder: Cardholder, reward: Reward | None, now: datetime
) -> None:
    """Per member per day (program-wide and per reward); runs after the account row is locked."""
    limits: list[tuple[int | None, int | None]] = [(holder.daily_redemption_limit, None)]
    if reward is not None:
        limits.append((reward.per_member_daily_limit, reward.id))
    day_start = datetime.combine(now.date(), time.min, tzinfo=now.tzinfo)
    for limit, reward_id in limits:
        if limit is None:
            continue
        query = select(func.count()).where(
            Redemption.account_id == holder.account_id,
            Redemption.created_at >= day_start,
            Redemption.created_at < day_start + timedelta(days=1),
            Redemption.status.in_(("held", "captured")),
        )
        if reward_id is not None:
            query = query.where(Redemption.reward_id == reward_id)
        if (session.scalar(query) or 0) >= limit:
            raise _limit_reached("the daily redemption limit for this card is reached")


def _take_stock_and_budget(
    session: Session, holder: Cardholder, reward: Reward | None, points: int
) -> None:
    """Atomic conditional decrements: stock never below zero, budget never exceeded."""
    if reward is not None and reward.stock is not None:
        taken = session.execute(
            update(Reward)
            .where(Reward.id == reward.id, Reward.stock > 0)
            .values(stock=Reward.stock - 1)
            .execution_options(synchronize_session=False)
        )
        if getattr(taken, "rowcount", 0) != 1:
            raise _unavailable(f"{reward.name} is out of stock")
    if holder.campaign_budget_points is not None:
        spent = session.execute(
            update(Program)
            .where(
                Program.id == holder.program_id,
                Program.campaign_spent_points + points <= Program.campaign_budget_points,
            )
            .values(campaign_spent_points=Program.campaign_spent_points + points)
            .execution_options(synchronize_session=False)
        )
        if getattr(spent, "rowcount", 0) != 1:
            raise _limit_reached("the campaign budget for redemptions is used up")


def _find(session: Session, terminal: TerminalContext, public_id: str) -> Redemption:
    redemption = session.scalar(
        select(Redemption).where(
            Redemption.public_id == public_id, Redemption.store_id == terminal.store_id
        )
    )
    if redemption is None:
        raise not_found("redemption")
    return redemption


def _answer(
    redemption: Redemption, balance: Balance | Cardholder, status: str | None = None
) -> PosAnswer:
    points, held = (
        (balance.points, balance.held)
        if isinstance(balance, Balance)
        else (balance.balance, balance.held)
    )
    return PosAnswer(
        200,
        {
            "redemption": {
                "id": redemption.public_id,
                "status": status or redemption.status,
                "points": redemption.points,
            },
            "balance": {"points": points, "held": held},
        },
    )


def _locked_redemption(
    session: Session, terminal: TerminalContext, public_id: str
) -> tuple[Redemption, Cardholder]:
    """The redemption read after its account's row lock, so its status cannot change under us."""
    account_id = _find(session, terminal, public_id).account_id
    lock_account(session, account_id)
    session.expire_all()
    return _find(session, terminal, public_id), by_account(session, account_id)


def capture(session: Session, terminal: TerminalContext, public_id: str) -> PosAnswer:
    """Held -> captured (a repeat answers the same); an expired hold is released instead."""
    now = utcnow()
    redemption, holder = _locked_redemption(session, terminal, public_id)
    if redemption.status == "captured":
        return _answer(redemption, holder)
    if redemption.status == "voided":
        raise GatewayError("redemption_voided", "this redemption was voided", 409)
    if redemption.status == "released" or (
        redemption.hold_expires_at is not None and redemption.hold_expires_at <= now
    ):
        release_hold(session, holder, redemption, now, "system")
        session.commit()
        raise GatewayError("hold_expired", "the hold expired and its points were returned", 409)
    session.execute(
        update(Redemption)
        .where(Redemption.id == redemption.id, Redemption.status == "held")
        .values(status="captured", settled_at=now)
        .execution_options(synchronize_session=False)
    )
    balance = apply_change(
        session,
        holder,
        [Movement("redemption", -redemption.points, -redemption.points)],
        Origin(terminal.actor, terminal.store_id, redemption.order_id, redemption_ref(redemption)),
        reason="capture",
    )
    return _answer(redemption, balance, "captured")


def void(session: Session, terminal: TerminalContext, public_id: str) -> PosAnswer:
    """Held or captured -> voided; the points come back exactly once (a repeat answers the same)."""
    now = utcnow()
    redemption, holder = _locked_redemption(session, terminal, public_id)
    if redemption.status in ("voided", "released"):
        return _answer(redemption, holder)
    previous = redemption.status
    session.execute(
        update(Redemption)
        .where(Redemption.id == redemption.id, Redemption.status == previous)
        .values(status="voided", settled_at=now)
        .execution_options(synchronize_session=False)
    )
    origin = Origin(
        terminal.actor, terminal.store_id, redemption.order_id, redemption_ref(redemption)
    )
    if previous == "held":
        movement = Movement("release", 0, -redemption.points)
    else:
        validity = timedelta(days=holder.validity_days)
        movement = Movement(
            "reversal", redemption.points - redemption.returned_points, 0, now + validity
        )
    balance = apply_change(session, holder, [movement], origin, reason="void")
    give_back_limits(session, holder, redemption.reward_id, redemption.points)
    return _answer(redemption, balance, "voided")
