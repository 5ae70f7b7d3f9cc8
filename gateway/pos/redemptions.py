"""Redemptions: spend a reward or points in a checkout, one-step or as a hold; capture; void.

A redemption is two statements through the POS store: the joined read (till, key record,
checkout's cardholder with the account row locked, reward), then one write of every row.
Reward stock, daily limits, campaign budgets and expired holds add their own statements.
"""

from __future__ import annotations

import secrets
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from gateway.domain.errors import not_found
from gateway.domain.points import meets_min_tier
from gateway.domain.pos_requests import RedemptionRequest
from gateway.models.base import utcnow
from gateway.models.pos import Redemption
from gateway.models.program import Program, Reward
from gateway.pos import errors
from gateway.pos.cardholder import Cardholder, by_account, tier_rules
from gateway.pos.checkout import is_open, iso
from gateway.pos.holds import (
    give_back_limits,
    redemption_ref,
    release_expired_holds_of,
    release_hold,
)
from gateway.pos.idempotency import (
    IdempotentCall,
    KeyWrite,
    PosAnswer,
    StoredAnswer,
    decide,
    encode,
    key_lock,
    keyed_unit,
    replay_after_conflict,
)
from gateway.pos.ledger import Balance, Movement, Origin, apply_change, lock_account
from gateway.pos.reads import RewardPick
from gateway.pos.store import RedemptionQuery, RedemptionWrite
from gateway.pos.terminals import TerminalContext
from gateway.runtime import Runtime


def _number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


class KeyConflict(Exception):
    """The key's record was written by someone else after this call read it."""

    def __init__(self, terminal_id: int) -> None:
        super().__init__("idempotency key taken")
        self.terminal_id = terminal_id


def create_redemption(
    rt: Runtime, key_hash: str, call: IdempotentCall, request: RedemptionRequest
) -> StoredAnswer:
    """Spend points within a live checkout, exactly once per Idempotency-Key (committed here)."""
    with rt.sessions() as session:
        try:
            outcome = redeem_within(session, rt, key_hash, call, request)
        except KeyConflict as conflict:
            session.rollback()
            return replay_after_conflict(session, conflict.terminal_id, call.key, call.request_hash)
        session.commit()
        return outcome


def redeem_within(
    session: Session,
    rt: Runtime,
    key_hash: str,
    call: IdempotentCall | None,
    request: RedemptionRequest,
) -> StoredAnswer:
    """The redemption's work in the session's transaction; the kill switches are read fresh.

    With a key, the answer is written with the effect, or the first answer comes back for a
    replay. When nothing else was written before the write statement, the store may commit
    with it (PostgreSQL: one round trip); the caller's commit then has nothing left to do.
    Raises KeyConflict when a concurrent call stored the key's answer first.
    """
    now = utcnow()
    # A forged, garbled or ended token still goes through the read (locking no account), so a
    # bad key answers 401 first.
    claim = rt.checkout_signer.read(request.checkout)
    if claim is not None and claim.expires_at <= now:
        claim = None
    key = call.key if call is not None else None
    read = rt.pos_store.read_redemption(
        session,
        RedemptionQuery(
            key_hash=key_hash,
            key=key,
            lock=key_lock(key_hash, key) if key is not None else 0,
            card_id=claim.card_id if claim is not None else 0,
            reward_code=request.reward_code or "",
        ),
    )
    if read is None:
        raise errors.unauthorized()
    terminal = read.terminal
    taken_over: datetime | None = None
    if call is not None:
        if not read.key_claimed:
            raise errors.idempotency_in_progress()
        if read.record is not None:
            decision = decide(read.record, call.request_hash, call.stale_after, now)
            if isinstance(decision, StoredAnswer):
                return decision
            taken_over = decision
    holder = read.holder
    if holder is None or not is_open(claim, terminal.terminal_id, now):
        raise errors.checkout_expired()
    if holder.card_status == "revoked":
        raise errors.card_revoked()
    if not holder.redemptions_enabled:
        raise errors.reward_unavailable("redemptions are paused for this program")
    reward = None
    if request.reward_code:
        if read.reward is None:
            raise not_found(f"reward {request.reward_code!r}")
        reward = _check_reward(session, holder, read.reward)
    points = reward.cost_points if reward is not None else (request.points or 0)
    holder, released = release_expired_holds_of(session, holder, now)
    if holder.balance - holder.held < points:
        raise errors.insufficient_points()
    _check_daily_limits(session, holder, reward, now)
    _take_stock_and_budget(session, holder, reward, points)
    wrote_before = bool(
        released
        or (reward is not None and (reward.stock is not None or reward.budget_points is not None))
        or holder.campaign_budget_points is not None
    )
    public_id = "rdm_" + secrets.token_hex(10)
    order = request.order
    origin = Origin(
        terminal.actor, terminal.store_id, order.id if order else None, f"redemption:{public_id}"
    )
    movement = Movement("redemption", -points) if request.capture else Movement("hold", 0, points)
    status = "captured" if request.capture else "held"
    hold_expires_at = None if request.capture else now + rt.pos_settings.hold_ttl
    # The account row is locked since the read, so the balance after is known exactly.
    balance = Balance(
        holder.balance + movement.points,
        holder.held + movement.held_change,
        holder.lifetime_points,
    )
    answer = _created(public_id, status, points, reward, hold_expires_at, balance)
    write = RedemptionWrite(
        holder=holder,
        movement=movement,
        origin=origin,
        reason="redemption" if request.capture else "hold",
        details={"reward": reward.code if reward is not None else None},
        redemption={
            "public_id": public_id,
            "account_id": holder.account_id,
            "card_id": holder.card_id,
            "store_id": terminal.store_id,
            "terminal_id": terminal.terminal_id,
            "reward_id": reward.id if reward is not None else None,
            "points": points,
            "status": status,
            "discount_percent": reward.discount_percent if reward is not None else None,
            "order_id": order.id if order else None,
            "order_total": order.total if order else None,
            "currency": order.currency if order else None,
            "hold_expires_at": hold_expires_at,
            "created_at": now,
            "settled_at": now if request.capture else None,
        },
        balance=balance,
        key=KeyWrite(
            terminal.terminal_id,
            key,
            call.request_hash if call is not None else "",
            taken_over,
            answer,
        ),
        now=now,
    )
    if not rt.pos_store.write_redemption(session, write, commit=not wrote_before):
        raise KeyConflict(terminal.terminal_id)
    return StoredAnswer(answer.status, encode(answer))


def _created(
    public_id: str,
    status: str,
    points: int,
    reward: RewardPick | None,
    hold_expires_at: datetime | None,
    balance: Balance,
) -> PosAnswer:
    body: dict[str, Any] = {"id": public_id, "status": status, "points": points}
    if reward is not None:
        body["reward"] = {"id": reward.code, "name": reward.name}
        if reward.discount_percent:
            body["discount"] = {"percent": _number(reward.discount_percent)}
    if hold_expires_at is not None:
        body["hold_expires_at"] = iso(hold_expires_at)
    return PosAnswer(201, {"redemption": body, "balance": balance.as_json()})


def _check_reward(session: Session, holder: Cardholder, reward: RewardPick) -> RewardPick:
    if reward.retired_at is not None:
        raise errors.reward_unavailable(f"{reward.name} is no longer offered")
    if not reward.enabled:
        raise errors.reward_unavailable(f"{reward.name} is not available right now")
    if reward.stock is not None and reward.stock <= 0:
        raise errors.reward_unavailable(f"{reward.name} is out of stock")
    if reward.min_tier and not meets_min_tier(
        holder.tier, reward.min_tier, tier_rules(session, holder.program_id)
    ):
        raise errors.reward_unavailable(f"{reward.name} is for {reward.min_tier} members and above")
    return reward


def _check_daily_limits(
    session: Session, holder: Cardholder, reward: RewardPick | None, now: datetime
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
            raise errors.limit_reached("the daily redemption limit for this card is reached")


def _take_stock_and_budget(
    session: Session, holder: Cardholder, reward: RewardPick | None, points: int
) -> None:
    """Atomic conditional decrements: stock never below zero, budgets never exceeded.

    Each is one conditional UPDATE: concurrent redemptions queue on the row and each re-checks
    the condition on the row as the one before left it, so no two can take the last unit."""
    if reward is not None and reward.stock is not None:
        taken = session.execute(
            update(Reward)
            .where(Reward.id == reward.id, Reward.stock > 0)
            .values(stock=Reward.stock - 1)
            .execution_options(synchronize_session=False)
        )
        if getattr(taken, "rowcount", 0) != 1:
            raise errors.reward_unavailable(f"{reward.name} is out of stock")
    if reward is not None and reward.budget_points is not None:
        charged = session.execute(
            update(Reward)
            .where(
                Reward.id == reward.id,
                Reward.budget_points.is_not(None),
                Reward.spent_points + points <= Reward.budget_points,
            )
            .values(spent_points=Reward.spent_points + points)
            .execution_options(synchronize_session=False)
        )
        if getattr(charged, "rowcount", 0) != 1:
            raise errors.limit_reached(f"the campaign budget of {reward.name} is used up")
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
            raise errors.limit_reached("the campaign budget for redemptions is used up")


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


def capture_redemption(
    rt: Runtime, call: IdempotentCall, terminal: TerminalContext, public_id: str
) -> StoredAnswer:
    """Held -> captured, once per Idempotency-Key (committed here)."""
    return keyed_unit(rt, call, terminal, lambda session: capture(session, terminal, public_id))


def void_redemption(
    rt: Runtime, call: IdempotentCall, terminal: TerminalContext, public_id: str
) -> StoredAnswer:
    """Held or captured -> voided, once per Idempotency-Key (committed here)."""
    return keyed_unit(rt, call, terminal, lambda session: void(session, terminal, public_id))


def capture(session: Session, terminal: TerminalContext, public_id: str) -> PosAnswer:
    """Held -> captured (a repeat answers the same); an expired hold is released instead."""
    now = utcnow()
    redemption, holder = _locked_redemption(session, terminal, public_id)
    if redemption.status == "captured":
        return _answer(redemption, holder)
    if redemption.status == "voided":
        raise errors.redemption_voided()
    if redemption.status == "released" or (
        redemption.hold_expires_at is not None and redemption.hold_expires_at <= now
    ):
        release_hold(session, holder, redemption, now, "system")
        return PosAnswer(409, errors.hold_expired().body())  # the release commits with it
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
