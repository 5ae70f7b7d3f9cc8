"""Members as the gateway knows them, their consents and their points account."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gateway.domain.names import cashier_display_name
from gateway.models.base import Base, BigId, Points, utcnow


class Member(Base):
    """A cardholder in one program, linked to the CRM record by `crm_id`."""

    __tablename__ = "members"
    __table_args__ = (
        Index("uq_members_program_email", "program_id", "email", unique=True),
        Index("uq_members_program_phone", "program_id", "phone", unique=True),
        Index("uq_members_program_crm", "program_id", "crm_id", unique=True),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"))
    crm_id: Mapped[str] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(String(254), default=None)
    phone: Mapped[str | None] = mapped_column(String(20), default=None)
    name: Mapped[str] = mapped_column(String(120), default="")
    locale: Mapped[str] = mapped_column(String(20), default="en")
    tier: Mapped[str] = mapped_column(String(40), default="")
    discount_percent: Mapped[int] = mapped_column(default=0)
    # SHA-256 of the random token of the member's consent link; a new link replaces the old.
    # Not a unique index: on PostgreSQL, updating a unique column locks the row against the
    # key-share locks of concurrent consent inserts (a deadlock with a racing re-enrollment).
    consent_token_hash: Mapped[str | None] = mapped_column(String(64), default=None, index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Membership closed and personal data pseudonymized on the member's request.
    erased_at: Mapped[datetime | None] = mapped_column(default=None)

    account: Mapped[Account] = relationship(back_populates="member", uselist=False)
    consents: Mapped[list[Consent]] = relationship(back_populates="member")

    @property
    def display_name(self) -> str:
        """First name and last initial: what a cashier may see."""
        return cashier_display_name(self.name)


class Consent(Base):
    """One consent decision with when, through which channel and which text version."""

    __tablename__ = "consents"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # terms | marketing
    granted: Mapped[bool]
    channel: Mapped[str] = mapped_column(String(20))  # web | api | crm | import
    text_version: Mapped[str] = mapped_column(String(40))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    withdrawn_at: Mapped[datetime | None] = mapped_column(default=None)

    member: Mapped[Member] = relationship(back_populates="consents")


class Account(Base):
    """The points balance every pass of a member shares; kept equal to the ledger's sum."""

    __tablename__ = "accounts"
    __table_args__ = (
        CheckConstraint("balance >= 0", name="balance_not_negative"),
        CheckConstraint("held >= 0 AND held <= balance", name="held_within_balance"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), unique=True)
    balance: Mapped[int] = mapped_column(Points, default=0)
    held: Mapped[int] = mapped_column(Points, default=0)
    lifetime_points: Mapped[int] = mapped_column(Points, default=0)

    member: Mapped[Member] = relationship(back_populates="account")
