"""One indexed query for everything a till needs about a card: member, account, program, tier."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, Text, and_, cast, func, select
from sqlalchemy.orm import Session

from gateway.domain.errors import GatewayError
from gateway.domain.names import cashier_display_name
from gateway.domain.points import TierRule
from gateway.models.card import Card
from gateway.models.member import Account, Member
from gateway.models.program import Program, Reward, Tier
from gateway.pos.rows import Record


@dataclass(frozen=True, slots=True)
class Cardholder:
    """A card with its member, points account and program policy, read in one statement."""

    card_id: int
    card_number: str
    card_status: str
    locked_until: datetime | None
    member_id: int
    crm_id: str
    member_name: str
    tier: str
    member_discount: int
    account_id: int
    balance: int
    held: int
    lifetime_points: int
    program_id: int
    program_slug: str
    totp_period: int
    totp_digits: int
    redemptions_enabled: bool
    accrual_by_card_number: bool
    points_per_unit: Decimal
    validity_days: int
    refund_returns_redeemed_points: bool
    daily_redemption_limit: int | None
    campaign_budget_points: int | None
    tier_multiplier: Decimal | None
    tier_discount: Decimal | None

    @property
    def display_name(self) -> str:
        """First name and last initial: what a cashier may see."""
        return cashier_display_name(self.member_name)

    @property
    def discount_percent(self) -> Decimal:
        """The better of the member's own (CRM) discount and their tier's discount."""
        return max(Decimal(self.member_discount), self.tier_discount or Decimal(0))

    @property
    def earn_multiplier(self) -> Decimal:
        """The tier's earn multiplier (1 without a known tier)."""
        return self.tier_multiplier if self.tier_multiplier is not None else Decimal(1)


HOLDER = Record(
    Cardholder,
    {
        "card_id": Card.id,
        "card_number": Card.number,
        "card_status": Card.status,
        "locked_until": Card.locked_until,
        "member_id": Member.id,
        "crm_id": Member.crm_id,
        "member_name": Member.name,
        "tier": Member.tier,
        "member_discount": Member.discount_percent,
        "account_id": Account.id,
        "balance": Account.balance,
        "held": Account.held,
        "lifetime_points": Account.lifetime_points,
        "program_id": Program.id,
        "program_slug": Program.slug,
        "totp_period": Program.totp_period_seconds,
        "totp_digits": Program.totp_digits,
        "redemptions_enabled": Program.redemptions_enabled,
        "accrual_by_card_number": Program.accrual_by_card_number,
        "points_per_unit": Program.points_per_currency_unit,
        "validity_days": Program.points_validity_days,
        "refund_returns_redeemed_points": Program.refund_returns_redeemed_points,
        "daily_redemption_limit": Program.daily_redemption_limit,
        "campaign_budget_points": Program.campaign_budget_points,
        "tier_multiplier": Tier.earn_multiplier,
        "tier_discount": Tier.discount_percent,
    },
)


def cardholder_query(*extra: Any) -> Select[Any]:
    """SELECT of the cardholder columns (plus `extra`) joined from cards."""
    return (
        select(*HOLDER.columns, *extra)
        .select_from(Card)
        .join(Member, Member.id == Card.member_id)
        .join(Account, Account.member_id == Member.id)
        .join(Program, Program.id == Card.program_id)
        .outerjoin(Tier, and_(Tier.program_id == Program.id, Tier.name == Member.tier))
    )


def from_row(row: Any) -> Cardholder:
    """Build a Cardholder from the first columns of a row."""
    return HOLDER.build(tuple(row)[: HOLDER.width])


def by_number(session: Session, program_id: int, number: str) -> Cardholder | None:
    """The cardholder of a card number (or the CRM's legacy number) in a program."""
    row = session.execute(
        cardholder_query().where(Card.program_id == program_id, Card.number == number)
    ).first()
    if row is None:
        row = session.execute(
            cardholder_query().where(Card.program_id == program_id, Card.legacy_number == number)
        ).first()
    return from_row(row) if row is not None else None


def by_account(session: Session, account_id: int) -> Cardholder:
    """The cardholder owning an account."""
    row = session.execute(cardholder_query().where(Account.id == account_id)).first()
    if row is None:
        raise GatewayError("not_found", "account not found", 404)
    return from_row(row)


def tier_rules(session: Session, program_id: int) -> list[TierRule]:
    """The program's tiers as pure rules."""
    rows = session.execute(
        select(Tier.name, Tier.threshold, Tier.earn_multiplier, Tier.discount_percent).where(
            Tier.program_id == program_id
        )
    ).all()
    return [TierRule(row[0], row[1], row[2], row[3]) for row in rows]


# --- the program's catalogue as JSON, read in the same statement as the card -------------------


def _json_rows(dialect: str, *columns: Any) -> Any:
    """An aggregate of rows as a JSON array of arrays, as text (PostgreSQL or SQLite)."""
    if dialect == "postgresql":
        return cast(func.json_agg(func.json_build_array(*columns)), Text)
    return func.json_group_array(func.json_array(*columns))


def rewards_json(dialect: str, program_id: Any) -> Any:
    """Scalar subquery: the program's offered (not retired) rewards as JSON text, fresh: kill
    switches, stock and what is left of each reward's budget."""
    return (
        select(
            _json_rows(
                dialect,
                Reward.id,
                Reward.code,
                Reward.name,
                Reward.cost_points,
                Reward.enabled,
                Reward.stock,
                Reward.min_tier,
                Reward.budget_points - Reward.spent_points,  # NULL: no budget
            )
        )
        .where(Reward.program_id == program_id, Reward.retired_at.is_(None))
        .correlate_except(Reward)
        .scalar_subquery()
    )


def tiers_json(dialect: str, program_id: Any) -> Any:
    """Scalar subquery: the program's tiers as JSON text."""
    return (
        select(
            _json_rows(
                dialect, Tier.name, Tier.threshold, Tier.earn_multiplier, Tier.discount_percent
            )
        )
        .where(Tier.program_id == program_id)
        .correlate_except(Tier)
        .scalar_subquery()
    )


@dataclass(frozen=True, slots=True)
class RewardRow:
    """A reward as the identify answer lists it."""

    id: int
    code: str
    name: str
    cost_points: int
    enabled: bool
    stock: int | None
    min_tier: str | None
    budget_left: int | None

    @property
    def within_budget(self) -> bool:
        """Whether the reward's own campaign budget still covers one redemption."""
        return self.budget_left is None or self.budget_left >= self.cost_points


def parse_rewards(text: str | None) -> list[RewardRow]:
    """The rewards of `rewards_json`, ordered by cost then id."""
    rows = [
        RewardRow(
            int(r[0]),
            r[1],
            r[2],
            int(r[3]),
            bool(r[4]),
            r[5],
            r[6],
            int(r[7]) if r[7] is not None else None,
        )
        for r in json.loads(text or "[]")
        if r[0] is not None
    ]
    rows.sort(key=lambda reward: (reward.cost_points, reward.id))
    return rows


def parse_tiers(text: str | None) -> list[TierRule]:
    """The tiers of `tiers_json` as pure rules."""
    return [
        TierRule(t[0], int(t[1]), Decimal(str(t[2])), Decimal(str(t[3])))
        for t in json.loads(text or "[]")
        if t[0] is not None
    ]
