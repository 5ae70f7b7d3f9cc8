"""The two joined reads of the POS hot paths, as statements and as the typed records they give.

Both store implementations run these same statements (PostgreSQL renders them to text once), so
what a scan or a redemption reads cannot differ between them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import Any

from sqlalchemy import BigInteger, String, and_, bindparam, func, literal_column, select, true
from sqlalchemy.orm import aliased

from gateway.domain.points import TierRule
from gateway.models.card import Card, WalletPass
from gateway.models.member import Account, Member
from gateway.models.pos import IdempotencyRecord, Store, Terminal
from gateway.models.program import Program, Reward, Tier
from gateway.pos.cardholder import (
    HOLDER,
    Cardholder,
    RewardRow,
    cardholder_query,
    parse_rewards,
    parse_tiers,
    rewards_json,
    tiers_json,
)
from gateway.pos.idempotency import KEY_RECORD, KeyRecord
from gateway.pos.rows import Record, RowLayout
from gateway.pos.terminals import TERMINAL, TerminalContext, live_terminals


@dataclass(frozen=True, slots=True)
class PassCode:
    """A pass of the card and what its code check needs."""

    pass_id: int
    wallet: str
    serial: str
    sealed_secret: bytes
    counter: int


@dataclass(frozen=True, slots=True)
class ScanRead:
    """What identify reads in one statement: the till, and the card with its passes and catalogue
    (holder None: no such card in the till's program)."""

    terminal: TerminalContext
    holder: Cardholder | None
    codes: list[PassCode]
    rewards: list[RewardRow]
    tiers: list[TierRule]


@dataclass(frozen=True, slots=True)
class RewardPick:
    """The reward a redemption names, as read with the checkout (fresh: kill switch, stock,
    retirement, budget)."""

    id: int
    code: str
    name: str
    cost_points: int
    enabled: bool
    stock: int | None
    per_member_daily_limit: int | None
    min_tier: str | None
    discount_percent: Decimal | None
    retired_at: datetime | None
    budget_points: int | None


@dataclass(frozen=True, slots=True)
class RedemptionRead:
    """What a redemption reads in one statement (the account row locked): the till, whether the
    key's lock was taken, the key's record, the checkout's cardholder and the named reward."""

    terminal: TerminalContext
    key_claimed: bool
    record: KeyRecord | None
    holder: Cardholder | None
    reward: RewardPick | None


def _pass_code(wallet: str) -> tuple[Any, Record[PassCode]]:
    """The card's pass of one wallet (unique per card and wallet), outer-joined by alias."""
    alias = aliased(WalletPass, name=f"{wallet}_pass")
    return alias, Record(
        PassCode,
        {
            "pass_id": alias.id,
            "wallet": alias.wallet,
            "serial": alias.serial,
            "sealed_secret": alias.code_secret,
            "counter": alias.code_counter,
        },
    )


_APPLE, APPLE_CODE = _pass_code("apple")
_GOOGLE, GOOGLE_CODE = _pass_code("google")
REWARD_PICK = Record(
    RewardPick,
    {
        "id": Reward.id,
        "code": Reward.code,
        "name": Reward.name,
        "cost_points": Reward.cost_points,
        "enabled": Reward.enabled,
        "stock": Reward.stock,
        "per_member_daily_limit": Reward.per_member_daily_limit,
        "min_tier": Reward.min_tier,
        "discount_percent": Reward.discount_percent,
        "retired_at": Reward.retired_at,
        "budget_points": Reward.budget_points,
    },
)
SCAN = RowLayout(
    ("terminal", TERMINAL),
    ("holder", HOLDER),
    ("apple", APPLE_CODE),
    ("google", GOOGLE_CODE),
    ("rewards", 1),
    ("tiers", 1),
)
REDEMPTION = RowLayout(
    ("terminal", TERMINAL),
    ("key_claimed", 1),
    ("record", KEY_RECORD),
    ("holder", HOLDER),
    ("reward", REWARD_PICK),
)


@cache
def scan_statement(dialect: str) -> Any:
    """Terminal by key hash; LEFT JOIN the card (+ member, account, program, tier) and its two
    passes, one row in all, so the catalogue subqueries run once. Wallet names are constants in
    the SQL text (not parameters), so PostgreSQL renders the statement once."""
    terminals, live = live_terminals(bindparam("key_hash", type_=String()))
    card = (
        Card.__table__.join(Member.__table__, Member.id == Card.member_id)
        .join(Account.__table__, Account.member_id == Member.id)
        .join(Program.__table__, Program.id == Card.program_id)
        .outerjoin(Tier.__table__, and_(Tier.program_id == Program.id, Tier.name == Member.tier))
    )
    return (
        select(
            *TERMINAL.columns,
            *HOLDER.columns,
            *APPLE_CODE.columns,
            *GOOGLE_CODE.columns,
            rewards_json(dialect, Card.program_id),
            tiers_json(dialect, Card.program_id),
        )
        .select_from(
            terminals.outerjoin(
                card,
                and_(
                    Card.program_id == Store.program_id,
                    Card.number == bindparam("number", type_=String()),
                ),
            )
            .outerjoin(
                _APPLE, and_(_APPLE.card_id == Card.id, _APPLE.wallet == literal_column("'apple'"))
            )
            .outerjoin(
                _GOOGLE,
                and_(_GOOGLE.card_id == Card.id, _GOOGLE.wallet == literal_column("'google'")),
            )
        )
        .where(live)
    )


def decode_scan(row: Sequence[Any]) -> ScanRead:
    """The typed records of a scan_statement row."""
    codes = [
        code
        for code in (SCAN.build(row, "apple", APPLE_CODE), SCAN.build(row, "google", GOOGLE_CODE))
        if code is not None
    ]
    return ScanRead(
        terminal=TERMINAL.build(SCAN.part(row, "terminal")),
        holder=SCAN.build(row, "holder", HOLDER),
        codes=codes,
        rewards=parse_rewards(SCAN.value(row, "rewards")),
        tiers=parse_tiers(SCAN.value(row, "tiers")),
    )


@cache
def redemption_statement(dialect: str, keyed: bool) -> Any:
    """One SELECT: the terminal (by key hash), the key's record, the checkout's cardholder with
    the account row locked (FOR UPDATE on PostgreSQL; SQLite transactions are exclusive), and
    the reward; for a keyed call on PostgreSQL also a transaction-scoped advisory lock on the
    key, which a concurrent duplicate fails to get."""
    terminals, live = live_terminals(bindparam("key_hash", type_=String()))
    holder = (
        cardholder_query()
        .with_only_columns(*HOLDER.labelled())
        .where(Card.id == bindparam("card_id", type_=BigInteger()))
        .with_for_update(of=Account.__table__)
        .cte("holder")
    )
    if keyed and dialect == "postgresql":
        claim: Any = func.pg_try_advisory_xact_lock(bindparam("lock", type_=BigInteger()))
    else:
        claim = true()
    return (
        select(*TERMINAL.columns, claim, *KEY_RECORD.columns, *holder.c, *REWARD_PICK.columns)
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
                    Reward.program_id == holder.c.program_id,
                    Reward.code == bindparam("reward_code", type_=String()),
                ),
            )
        )
        .where(live)
    )


def decode_redemption(row: Sequence[Any]) -> RedemptionRead:
    """The typed records of a redemption_statement row."""
    return RedemptionRead(
        terminal=TERMINAL.build(REDEMPTION.part(row, "terminal")),
        key_claimed=bool(REDEMPTION.value(row, "key_claimed")),
        record=REDEMPTION.build(row, "record", KEY_RECORD),
        holder=REDEMPTION.build(row, "holder", HOLDER),
        reward=REDEMPTION.build(row, "reward", REWARD_PICK),
    )
