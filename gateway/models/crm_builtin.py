"""Tables of the built-in CRM (the embedded default): the member base the gateway digitizes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from gateway.models.base import Base, BigId, Points, utcnow


class CrmMember(Base):
    """A member record as a CRM holds it: its own id, card number, balance, tier, discount."""

    __tablename__ = "crm_members"
    __table_args__ = (
        Index("uq_crm_members_program_email", "program_slug", "email", unique=True),
        Index("uq_crm_members_program_phone", "program_slug", "phone", unique=True),
        Index("uq_crm_members_program_card", "program_slug", "card_number", unique=True),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    program_slug: Mapped[str] = mapped_column(String(64))
    email: Mapped[str | None] = mapped_column(String(254), default=None)
    phone: Mapped[str | None] = mapped_column(String(20), default=None)
    name: Mapped[str] = mapped_column(String(120), default="")
    card_number: Mapped[str | None] = mapped_column(String(64), default=None)
    balance: Mapped[int] = mapped_column(Points, default=0)
    tier: Mapped[str] = mapped_column(String(40), default="")
    discount_percent: Mapped[int] = mapped_column(default=0)
    consents: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CrmCardEvent(Base):
    """What the built-in CRM was told: card linked / unlinked / balance changed."""

    __tablename__ = "crm_card_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    event_id: Mapped[str] = mapped_column(String(64), unique=True)
    crm_member_id: Mapped[int | None] = mapped_column(default=None, index=True)
    kind: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict[str, Any]]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
