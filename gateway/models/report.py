"""Report tables: Apple registration history, daily rollups, visits and rollup watermarks."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from gateway.models.base import Base, BigId, Points, utcnow


class AppleRegistrationEvent(Base):
    """A pass registered on or unregistered from a device (registrations are deleted, this is
    the history the reports count)."""

    __tablename__ = "apple_registration_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    pass_id: Mapped[int] = mapped_column(BigId)
    device_id: Mapped[int] = mapped_column(BigId)
    event: Mapped[str] = mapped_column(String(14))  # registered | unregistered
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class ReportDaily(Base):
    """Counts and sums of one metric of one program on one local day at one store (0: none)."""

    __tablename__ = "report_daily"

    program_id: Mapped[int] = mapped_column(BigId, primary_key=True)
    day: Mapped[str] = mapped_column(String(10), primary_key=True)  # YYYY-MM-DD, local
    store_id: Mapped[int] = mapped_column(BigId, primary_key=True)
    metric: Mapped[str] = mapped_column(String(40), primary_key=True)
    dim: Mapped[str] = mapped_column(String(64), primary_key=True)
    count: Mapped[int] = mapped_column(Points, default=0)
    points: Mapped[int] = mapped_column(Points, default=0)
    amount: Mapped[Decimal] = mapped_column(Numeric(16, 2), default=Decimal(0))


class ReportVisit(Base):
    """A card with at least one accepted scan on a local day."""

    __tablename__ = "report_visits"

    program_id: Mapped[int] = mapped_column(BigId, primary_key=True)
    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    card_id: Mapped[int] = mapped_column(BigId, primary_key=True)


class ReportWatermark(Base):
    """The last id of a source table already added to the rollups."""

    __tablename__ = "report_watermarks"

    source: Mapped[str] = mapped_column(String(40), primary_key=True)
    last_id: Mapped[int] = mapped_column(Points, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReportSnapshot(Base):
    """A program's figures of "now", recomputed from the raw rows by the rollup chore."""

    __tablename__ = "report_snapshots"

    program_id: Mapped[int] = mapped_column(BigId, primary_key=True)
    taken_at: Mapped[datetime]
    members: Mapped[int] = mapped_column(Points)
    members_with_pass: Mapped[int] = mapped_column(Points)
    apple_active: Mapped[int] = mapped_column(Points)
    google_active: Mapped[int] = mapped_column(Points)
    outstanding_points: Mapped[int] = mapped_column(Points)
    # Open buckets expiring within 30 days of `taken_at`.
    expiring_points: Mapped[int] = mapped_column(Points)
    # {reward id: points of held and captured redemptions not given back}
    reward_spent: Mapped[dict[str, Any]]
