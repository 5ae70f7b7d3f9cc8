"""Refused scans that count toward no lock: kept only so the reports can count them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from gateway.models.base import Base, BigId, utcnow


class ScanRefusal(Base):
    """A scan refused without a guess at a code: a replayed code (`replayed`), a locked card
    (`card_locked`) or a malformed scan (`malformed`). Append-only; purged with the other scan
    records once the report rollups have taken it. Not in scan_failures on purpose: the lockout
    counts every row there, and none of these is a guess that should lock a card or a till."""

    __tablename__ = "scan_refusals"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    terminal_id: Mapped[int] = mapped_column(ForeignKey("terminals.id"))
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    card_id: Mapped[int | None] = mapped_column(ForeignKey("cards.id"), default=None)
    reason: Mapped[str] = mapped_column(String(30))
    at: Mapped[datetime] = mapped_column(default=utcnow)
