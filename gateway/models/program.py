"""Loyalty programs: look, tiers, rewards, code settings and wallet identifiers."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, LargeBinary, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gateway.models.base import Base, BigId, Points


class Program(Base):
    """A loyalty program; `slug` is the public identifier used by the APIs."""

    __tablename__ = "programs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    organization: Mapped[str] = mapped_column(String(120))
    background_color: Mapped[str] = mapped_column(String(7), default="#1f2937")
    foreground_color: Mapped[str] = mapped_column(String(7), default="#ffffff")
    label_color: Mapped[str] = mapped_column(String(7), default="#d1d5db")
    points_label: Mapped[str] = mapped_column(String(40), default="Points")
    # ISO 4217: accruals and refunds in another currency are refused (`currency_mismatch`).
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    # What one point is worth in `currency`: the liability figure of the reports.
    point_value: Mapped[Decimal] = mapped_column(Numeric(12, 4), default=Decimal("0.01"))
    # IANA name: the day a program-wide report figure falls on (a store's own figures use its).
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    terms_url: Mapped[str] = mapped_column(String(300), default="")
    terms_text: Mapped[str] = mapped_column(String(2000), default="")
    support_url: Mapped[str] = mapped_column(String(300), default="")
    totp_period_seconds: Mapped[int] = mapped_column(default=30)
    totp_digits: Mapped[int] = mapped_column(default=8)
    apple_pass_type_id: Mapped[str] = mapped_column(String(200))
    apple_team_id: Mapped[str] = mapped_column(String(20))
    google_issuer_id: Mapped[str] = mapped_column(String(40))
    google_class_suffix: Mapped[str] = mapped_column(String(100))
    # Earning and spending policy.
    points_per_currency_unit: Mapped[Decimal] = mapped_column(Numeric(10, 4), default=Decimal(1))
    points_validity_days: Mapped[int] = mapped_column(default=365)
    accrual_by_card_number: Mapped[bool] = mapped_column(default=True)
    refund_returns_redeemed_points: Mapped[bool] = mapped_column(default=True)
    redemptions_enabled: Mapped[bool] = mapped_column(default=True)
    campaign_budget_points: Mapped[int | None] = mapped_column(Points, default=None)
    campaign_spent_points: Mapped[int] = mapped_column(Points, default=0)
    daily_redemption_limit: Mapped[int | None] = mapped_column(default=None)
    # GET /pos/v1/cards/<number> needs an open checkout of the till for that card.
    card_lookup_requires_checkout: Mapped[bool] = mapped_column(default=False)
    # Bumped by every operator edit: a save based on an older version is a conflict.
    version: Mapped[int] = mapped_column(default=1)

    tiers: Mapped[list[Tier]] = relationship(
        back_populates="program", order_by="Tier.threshold", cascade="all, delete-orphan"
    )
    rewards: Mapped[list[Reward]] = relationship(
        back_populates="program", order_by="Reward.cost_points", cascade="all, delete-orphan"
    )
    images: Mapped[list[ProgramImage]] = relationship(cascade="all, delete-orphan")

    @property
    def google_class_id(self) -> str:
        """The loyalty class id: `<issuer>.<suffix>`."""
        return f"{self.google_issuer_id}.{self.google_class_suffix}"


class Tier(Base):
    """A tier reached at `threshold` lifetime points, with its earn multiplier and discount."""

    __tablename__ = "tiers"
    __table_args__ = (UniqueConstraint("program_id", "name"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(40))
    threshold: Mapped[int] = mapped_column(Points, default=0)
    earn_multiplier: Mapped[Decimal] = mapped_column(Numeric(6, 3), default=Decimal(1))
    discount_percent: Mapped[Decimal] = mapped_column(Numeric(5, 2), default=Decimal(0))

    program: Mapped[Program] = relationship(back_populates="tiers")


class Reward(Base):
    """A catalogue entry; `code` is the public reward id used by tills."""

    __tablename__ = "rewards"
    __table_args__ = (UniqueConstraint("program_id", "code"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(120))
    cost_points: Mapped[int]
    enabled: Mapped[bool] = mapped_column(default=True)
    stock: Mapped[int | None] = mapped_column(default=None)
    per_member_daily_limit: Mapped[int | None] = mapped_column(default=None)
    min_tier: Mapped[str | None] = mapped_column(String(40), default=None)
    discount_percent: Mapped[Decimal | None] = mapped_column(Numeric(5, 2), default=None)
    # The reward's own campaign budget in points (None: unlimited) and what redemptions took.
    budget_points: Mapped[int | None] = mapped_column(Points, default=None)
    spent_points: Mapped[int] = mapped_column(Points, default=0)
    # A retired reward is kept for history (redemptions point at it) but never offered again.
    retired_at: Mapped[datetime | None] = mapped_column(default=None)
    # Bumped by every operator edit: a save based on an older version is a conflict.
    version: Mapped[int] = mapped_column(default=1)

    program: Mapped[Program] = relationship(back_populates="rewards")


class ProgramImage(Base):
    """A pass image (icon, logo, strip) at a scale: name like `icon@2x.png`."""

    __tablename__ = "program_images"
    __table_args__ = (UniqueConstraint("program_id", "name"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(40))
    content: Mapped[bytes] = mapped_column(LargeBinary)
