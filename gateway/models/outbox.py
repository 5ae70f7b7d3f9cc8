"""Transactional outbox and audit trail."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from gateway.models.base import Base, BigId, utcnow


class OutboxEvent(Base):
    """An event written in the same transaction as the change it describes."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_pending", "delivered_at", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    event_id: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(60))
    payload: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(String(500), default=None)
    # Set when the event failed OUTBOX_MAX_ATTEMPTS times: it stops retrying until an operator
    # retries or discards it (a dead letter).
    dead_at: Mapped[datetime | None] = mapped_column(default=None)


class AuditEvent(Base):
    """Who did what, when: every ledger change and every security-relevant event."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(80))  # e.g. terminal:12, store:MAIN, operator, system
    action: Mapped[str] = mapped_column(String(60))
    # Indexed: a member's or card's page lists its trail.
    subject: Mapped[str] = mapped_column(String(80), index=True)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
