"""Redemptions: spend a reward or points in a checkout, one-step or as a hold; capture; void."""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    String,
    and_,
    bindparam,
    func,
    insert,
    select,
    true,
    update,
)
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from gateway.domain.errors import GatewayError, not_found
from gateway.domain.points import meets_min_tier
from gateway.domain.pos_requests import RedemptionRequest
from gateway.models.base import utcnow
from gateway.models.card import Card
from gateway.models.member import Account
from gateway.models.pos import IdempotencyRecord, Redemption, Terminal
from gateway.models.program import Program, Reward
from gateway.runtime import Runtime
from gateway.services import hot_sql
from gateway.services.cardholder import WIDTH, Cardholder, by_account, cardholder_query, tier_rules
from gateway.services.checkout import checkout_expired, checkout_signer, is_open, iso
from gateway.services.holds import (
    give_back_limits,
    redemption_ref,
    release_expired_holds_of,
    release_hold,
)
from gateway.services.idempotency import (
    RECORD_COLUMNS,
    RECORD_CTE,
    KeyConflict,
    KeyRecord,
    KeyWrite,
    PosAnswer,
    StoredAnswer,
    decide,
    in_progress,
    key_lock,
    store_answer,
)
from gateway.services.ledger import (
    Balance,
    Movement,
    Origin,
    apply_change,
    change_documents,
    insufficient_points,
    lock_account,
    new_event_id,
)
from gateway.services.pos_settings import pos_settings
from gateway.services.terminals import (
    TERMINAL_COLUMNS,
    TERMINAL_WIDTH,
    TerminalContext,
    live_terminals,
    terminal_from_row,
    unauthorized,
)


def _unavailable(message: str) -> GatewayError:
    return GatewayError("reward_unavailable", message, 409)


def _limit_reached(message: str) -> GatewayError:
    return GatewayError("limit_reached", message, 409)


def _number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


@dataclass(frozen=True, slots=True)
class RewardPick:
    """The reward a redemption names, as read with the checkout (fresh: kill switch, stock)."""

    id: int
    code: str
    name: str
    cost_points: int
    enabled: bool
    stock: int | None
    per_member_daily_limit: int | None
    min_tier: str | None
    discount_percent: Decimal | None


REWARD_COLUMNS = (
    Reward.id,
    Reward.code,
    Reward.name,
    Reward.cost_points,
    Reward.enabled,
    Reward.stock,
    Reward.per_member_daily_limit,
    Reward.min_tier,
    Reward.discount_percent,
)
_STATEMENTS: dict[str, Any] = {}


def _read_statement(dialect: str, keyed: bool) -> Any:
    """One SELECT: the terminal (by key hash), the key's record, the checkout's cardholder with
    the account row locked (FOR UPDATE on PostgreSQL; SQLite transactions are exclusive), and
    the reward; for a keyed call on PostgreSQL also a transaction-scoped advisory lock on the
    key, which a concurrent duplicate fails to get.
    """
    name = f"read:{dialect}:{keyed}"
    cached = _STATEMENTS.get(name)
    if cached is not None:
        return cached
    terminals, live = live_terminals(bindparam("key_hash", type_=String()))
    holder = (
        cardholder_query()
        .where(Card.id == bindparam("card_id", type_=BigInteger()))
        .with_for_update(of=Account.__table__)
        .cte("holder")
    )
    held_columns = list(holder.c)
    if keyed and dialect == "postgresql":
        claim: Any = func.pg_try_advisory_xact_lock(bindparam("lock", type_=BigInteger()))
    else:
        claim = true()
    statement = (
        select(*TERMINAL_COLUMNS, claim, *RECORD_COLUMNS, *held_columns, *REWARD_COLUMNS)
        .select_from(
            terminals.outerjoin(
                IdempotencyRecord,
                and_(
                    IdempotencyRecord.terminal_id == Terminal.id,
                    IdempotencyRecord.key == bindparam("key", type_=String()),
                ),
            )
            .outerjoin(holder, true())
            .outerjoin(
                Reward,
                and_(
                    Reward.program_id == held_columns[13],
                    Reward.code == bindparam("reward_code", type_=String()),
                ),
            )
        )
        .where(live)
    )
    _STATEMENTS[name] = statement
    return statement


_CLAIM = TERMINAL_WIDTH
_RECORD = _CLAIM + 1
_HOLDER = _RECORD + len(RECORD_COLUMNS)
_REWARD = _HOLDER + WIDTH


def redeem(
    session: Session, rt: Runtime, terminal: TerminalContext, request: RedemptionRequest
) -> PosAnswer:
    """Spend points within a live checkout, without an Idempotency-Key, in the caller's
    transaction (the caller commits)."""
    key_hash = session.scalar(select(Terminal.key_hash).where(Terminal.id == terminal.terminal_id))
    outcome = redeem_keyed(session, rt, str(key_hash), None, "", request, timedelta(0))
    if isinstance(outcome, StoredAnswer):  # pragma: no cover - only keyed calls replay
        raise AssertionError("an unkeyed redemption cannot be a replay")
    return outcome[0]


def redeem_keyed(
    session: Session,
    rt: Runtime,
    key_hash: str,
    key: str | None,
    request_hash: str,
    request: RedemptionRequest,
    stale_after: timedelta,
    *,
    commit: bool = False,
) -> tuple[PosAnswer, TerminalContext] | StoredAnswer:
    """Spend points within a live checkout; the kill switches are read fresh on every call.

    With a key, the answer is stored with the effect in the same transaction (the caller
    commits), or the first answer comes back for a replay. On PostgreSQL that is two round
    trips with `commit` (the caller's commit then has nothing left to do): BEGIN with the
    joined read (which locks the account row), then one statement for every write (balance,
    ledger, FIFO buckets, redemption, audit, outbox, key) with COMMIT. Reward stock, daily
    limits, campaign budgets and expired holds add their own statements, and the commit is
    then left to the caller, so that a failed write undoes them.
    """
    now = utcnow()
    dialect = rt.engine.dialect.name
    conn = session.connection()
    # A forged, garbled or ended token still goes through the read (locking no account), so a
    # bad key answers 401 first.
    claim = checkout_signer(rt).read(request.checkout)
    if claim is not None and claim.expires_at <= now:
        claim = None
    params = {
        "key_hash": key_hash,
        "key": key,
        "lock": key_lock(key_hash, key) if key is not None else 0,
        "card_id": claim.card_id if claim is not None else 0,
        "reward_code": request.reward_code or "",
    }
    statement = _read_statement(dialect, key is not None)
    rows: Sequence[Any] = (
        hot_sql.fetch_first_in_transaction(conn, hot_sql.render(statement), params)
        if dialect == "postgresql"
        else conn.execute(statement, params).all()
    )
    if not rows:
        raise unauthorized()
    row = rows[0]
    terminal = terminal_from_row(row)
    taken_over: datetime | None = None
    if key is not None:
        if not row[_CLAIM]:
            raise in_progress()
        if row[_RECORD] is not None:
            decision = decide(KeyRecord(*row[_RECORD:_HOLDER]), request_hash, stale_after, now)
            if isinstance(decision, StoredAnswer):
                return decision
            taken_over = decision
    if row[_HOLDER] is None or not is_open(claim, terminal.terminal_id, now):
        raise checkout_expired()
    holder = Cardholder(*row[_HOLDER:_REWARD])
    if holder.card_status == "revoked":
        raise GatewayError("card_revoked", "this card has been revoked", 410)
    if not holder.redemptions_enabled:
        raise _unavailable("redemptions are paused for this program")
    reward = None
    if request.reward_code:
        if row[_REWARD] is None:
            raise not_found(f"reward {request.reward_code!r}")
        reward = _check_reward(session, holder, RewardPick(*row[_REWARD:]))
    points = reward.cost_points if reward is not None else (request.points or 0)
    holder, released = release_expired_holds_of(session, holder, now)
    if holder.balance - holder.held < points:
        raise insufficient_points()
    _check_daily_limits(session, holder, reward, now)
    _take_stock_and_budget(session, holder, reward, points)
    wrote_before = bool(
        released
        or (reward is not None and reward.stock is not None)
        or holder.campaign_budget_points is not None
    )
    public_id = "rdm_" + secrets.token_hex(10)
    order = request.order
    origin = Origin(
        terminal.actor, terminal.store_id, order.id if order else None, f"redemption:{public_id}"
    )
    movement = (
        Movement("redemption", -points) if request.capture else Movement("hold", 0, points)
    )
    status = "captured" if request.capture else "held"
    hold_expires_at = None if request.capture else now + pos_settings(rt).hold_ttl
    redemption: dict[str, Any] = {
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
    }
    reason = "redemption" if request.capture else "hold"
    details: dict[str, Any] = {"reward": reward.code if reward is not None else None}
    if dialect == "postgresql":
        # The account row is locked since the read, so the balance after is known exactly.
        balance = Balance(
            holder.balance + movement.points,
            holder.held + movement.held_change,
            holder.lifetime_points,
        )
        answer = _created(public_id, status, points, reward, hold_expires_at, balance)
        write = PgWrite(holder, movement, origin, reason, details, redemption, balance, now)
        keyed = KeyWrite(terminal.terminal_id, key, request_hash, taken_over, answer)
        if not _write_pg(conn, write, keyed, commit and key is not None and not wrote_before):
            raise KeyConflict()
        return answer, terminal
    balance = apply_change(session, holder, [movement], origin, reason=reason, **details)
    conn.execute(insert(Redemption).values(**redemption))
    answer = _created(public_id, status, points, reward, hold_expires_at, balance)
    if key is not None and not store_answer(
        conn, KeyWrite(terminal.terminal_id, key, request_hash, taken_over, answer), now
    ):
        raise KeyConflict()
    return answer, terminal


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


@dataclass(frozen=True, slots=True)
class PgWrite:
    """What the single write statement of a redemption needs."""

    holder: Cardholder
    movement: Movement
    origin: Origin
    reason: str
    details: dict[str, Any]
    redemption: dict[str, Any]
    balance: Balance
    now: datetime


_WRITE_PG = """
WITH {gate}account AS (
    UPDATE accounts SET balance = balance + :points, held = held + :held_change
    WHERE id = :account_id
      AND balance + :points - (held + :held_change) >= 0 AND held + :held_change >= 0{gated}
    RETURNING id
), entry AS (
    INSERT INTO ledger_entries (account_id, kind, points, held_change, remaining, expires_at,
                                actor, store_id, order_id, reference, created_at)
    SELECT :account_id, :kind, :points, :held_change, 0, NULL, :actor, :store_id, :order_id,
           :reference, :now
    FROM account
    RETURNING id
){fifo}, redemption AS (
    INSERT INTO redemptions (public_id, account_id, card_id, store_id, terminal_id, reward_id,
                             points, status, discount_percent, order_id, order_total, currency,
                             returned_points, hold_expires_at, created_at, settled_at)
    SELECT :public_id, :account_id, :card_id, :store_id, :terminal_id, :reward_id, :r_points,
           :status, :discount_percent, :order_id, :order_total, :currency, 0,
           :hold_expires_at, :now, :settled_at
    FROM account
    RETURNING id
), audit AS (
    INSERT INTO audit_events (at, actor, action, subject, details)
    SELECT :now, :actor, :action, :subject, CAST(:details AS JSON) FROM account
    RETURNING id
), event AS (
    INSERT INTO outbox (event_id, kind, payload, created_at, attempts, next_attempt_at)
    SELECT :event_id, 'balance.changed', CAST(:payload AS JSON), :now, 0, :now FROM account
    RETURNING id
)
SELECT (SELECT count(*) FROM account){counts}
"""
# Keyed: the key's record is written first, off `gate` (the balance check, read on the row the
# call has locked since its read, so the same row version the UPDATE sees), and the balance
# moves only if the record was written. So the statement either does everything (effect and
# answer) or nothing at all, which lets the caller commit in the same round trip as the write.
_WRITE_PG_GATE = """gate AS (
    SELECT id FROM accounts
    WHERE id = :account_id
      AND balance + :points - (held + :held_change) >= 0 AND held + :held_change >= 0
){record}, """
# FIFO: the oldest buckets first. This statement's snapshot is taken after the read locked
# the account row, and every writer of an account takes that lock first, so it sees them all.
_WRITE_PG_FIFO = """, buckets AS (
    SELECT id, remaining,
           sum(remaining) OVER (ORDER BY expires_at ASC NULLS LAST, id) AS upto
    FROM ledger_entries WHERE account_id = :account_id AND remaining > 0
), spent AS (
    UPDATE ledger_entries SET remaining = GREATEST(buckets.upto - :spent, 0)
    FROM buckets
    WHERE ledger_entries.id = buckets.id AND buckets.upto - buckets.remaining < :spent
      AND EXISTS (SELECT 1 FROM account)
    RETURNING ledger_entries.id
)"""


def _write_pg_statement(fifo: bool, keyed: bool) -> str:
    name = f"write:{fifo}:{keyed}"
    cached = _STATEMENTS.get(name)
    if cached is None:
        cached = hot_sql.named(
            _WRITE_PG.format(
                gate=_WRITE_PG_GATE.format(record=RECORD_CTE) if keyed else "",
                gated="\n      AND EXISTS (SELECT 1 FROM record)" if keyed else "",
                fifo=_WRITE_PG_FIFO if fifo else "",
                counts=", (SELECT count(*) FROM gate), (SELECT count(*) FROM record)"
                if keyed
                else "",
            )
        )
        _STATEMENTS[name] = cached
    return cached


def _write_pg(conn: Connection, write: PgWrite, keyed: KeyWrite, commit: bool) -> bool:
    """Every write of a redemption in one statement; False if the key's record was taken.

    With `commit` (a keyed call whose transaction wrote nothing before), COMMIT goes in the
    same round trip: the statement is all or nothing, so committing a failed one (insufficient
    points, key taken) only ends the transaction and releases its locks."""
    movement, origin, holder = write.movement, write.origin, write.holder
    spent = max(-movement.points, 0)
    audit_details, payload = change_documents(
        holder,
        write.balance,
        origin,
        reason=write.reason,
        points=movement.points,
        held_change=movement.held_change,
        **write.details,
    )
    params = {
        **write.redemption,
        "r_points": write.redemption["points"],
        "points": movement.points,
        "held_change": movement.held_change,
        "kind": movement.kind,
        "actor": origin.actor,
        "reference": origin.reference,
        "now": write.now,
        "spent": spent,
        "action": f"points.{write.reason}",
        "subject": f"account:{holder.account_id}",
        "details": json.dumps(audit_details, default=str),
        "event_id": new_event_id(),
        "payload": json.dumps(payload, default=str),
        **keyed.params(),
    }
    sql = _write_pg_statement(spent > 0, keyed.key is not None)
    if commit:
        row = hot_sql.fetch_and_commit(conn, sql, params)[0]
    else:
        row = hot_sql.fetch(conn, sql, params)[0]
    if row[0]:
        return True
    if keyed.key is not None and row[1]:
        return False  # the balance check passed but the record was taken meanwhile
    raise insufficient_points()


def _check_reward(session: Session, holder: Cardholder, reward: RewardPick) -> RewardPick:
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
            raise _limit_reached("the daily redemption limit for this card is reached")


def _take_stock_and_budget(
    session: Session, holder: Cardholder, reward: RewardPick | None, points: int
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
