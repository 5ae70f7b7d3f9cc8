"""Pending enrollments waiting for the contact to prove it is theirs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from gateway.models.base import Base, utcnow


class Enrollment(Base):
    """A request for a card; the verification code is stored only as a hash."""

    __tablename__ = "enrollments"
    # The reports count a program's enrollments by the day they started.
    __table_args__ = (Index("ix_enrollments_program_created", "program_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"))
    contact_kind: Mapped[str] = mapped_column(String(10))  # email | phone
    contact: Mapped[str] = mapped_column(String(254))
    name: Mapped[str] = mapped_column(String(120), default="")
    locale: Mapped[str] = mapped_column(String(20), default="en")
    consents: Mapped[dict[str, Any]] = mapped_column(default=dict)
    channel: Mapped[str] = mapped_column(String(20), default="api")
    code_hash: Mapped[str] = mapped_column(String(64))
    # Wrong codes over the enrollment's whole life (a resent code does not reset them).
    attempts: Mapped[int] = mapped_column(default=0)
    # Codes sent for this enrollment (the first and every resend).
    sends: Mapped[int] = mapped_column(default=1)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending|verified|dead
    expires_at: Mapped[datetime]
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), default=None)
    result: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
