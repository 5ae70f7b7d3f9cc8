"""Bare card-number lookups per terminal in the last minute: the rate limit's counter."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index
from sqlalchemy.orm import Mapped, mapped_column

from gateway.models.base import Base, BigId, utcnow


class CardLookup(Base):
    """One GET /pos/v1/cards/<number> of a terminal; rows older than a minute are deleted by the
    terminal's next lookup (the audit trail keeps the history)."""

    __tablename__ = "card_lookups"
    __table_args__ = (Index("ix_card_lookups_terminal_at", "terminal_id", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    terminal_id: Mapped[int] = mapped_column(ForeignKey("terminals.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
