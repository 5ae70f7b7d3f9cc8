"""Append-only points ledger; positive rows are FIFO buckets that expire."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from gateway.models.base import Base, BigId, Points, utcnow


class LedgerEntry(Base):
    """One signed movement of points; the rows of an account always sum to its balance."""

    __tablename__ = "ledger_entries"
    __table_args__ = (
        # Only open buckets, in spending order: a redemption reads these, not the whole history;
        # every query of buckets asks for `remaining > 0`, so no full-history copy is kept.
        Index(
            "ix_ledger_open_buckets",
            "account_id",
            "expires_at",
            "id",
            postgresql_where=text("remaining > 0"),
            sqlite_where=text("remaining > 0"),
        ),
        # An operator's adjustment carries the form's (or API caller's) request id: a retry of
        # the same request cannot add a second row.
        Index(
            "uq_ledger_adjustment_reference",
            "reference",
            unique=True,
            postgresql_where=text("kind = 'adjustment'"),
            sqlite_where=text("kind = 'adjustment'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    # accrual | redemption | hold | release | reversal | expiry | adjustment | import
    kind: Mapped[str] = mapped_column(String(20))
    points: Mapped[int] = mapped_column(Points)
    # Change of the account's held points (hold +n, capture/release -n); sums to accounts.held.
    held_change: Mapped[int] = mapped_column(Points, default=0, server_default="0")
    # For positive rows: points of this bucket not yet spent (FIFO) and when they expire.
    remaining: Mapped[int] = mapped_column(Points, default=0)
    expires_at: Mapped[datetime | None] = mapped_column(default=None)
    actor: Mapped[str] = mapped_column(String(80), default="system")
    store_id: Mapped[int | None] = mapped_column(default=None)
    order_id: Mapped[str | None] = mapped_column(String(100), default=None)
    reference: Mapped[str | None] = mapped_column(String(100), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
