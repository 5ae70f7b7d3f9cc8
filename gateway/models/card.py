"""Cards (the public number) and the wallet passes that show it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gateway.models.base import Base, BigId, utcnow


class Card(Base):
    """A loyalty card number; one per member, shown by each of the member's passes."""

    __tablename__ = "cards"
    __table_args__ = (UniqueConstraint("program_id", "number"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), unique=True)
    number: Mapped[str] = mapped_column(String(32))
    # The CRM's own number when it did not fit the card-number rules and a new one was issued.
    legacy_number: Mapped[str | None] = mapped_column(String(64), default=None, index=True)
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | revoked
    locked_until: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    passes: Mapped[list[WalletPass]] = relationship(back_populates="card", order_by="WalletPass.id")


class WalletPass(Base):
    """An Apple or Google pass for a card, with its own one-time-code secret."""

    __tablename__ = "passes"
    __table_args__ = (
        UniqueConstraint("card_id", "wallet"),
        Index("ix_passes_download_token_hash", "download_token_hash", unique=True),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    card_id: Mapped[int] = mapped_column(ForeignKey("cards.id"))
    wallet: Mapped[str] = mapped_column(String(10))  # apple | google
    serial: Mapped[str] = mapped_column(String(64), unique=True)
    # AES-GCM ciphertext (with key id) of the HOTP/TOTP secret, >= 160 random bits.
    code_secret: Mapped[bytes] = mapped_column(LargeBinary)
    # Apple: the counter whose code the pass currently shows.
    code_counter: Mapped[int] = mapped_column(default=0)
    code_issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Apple: web-service token, encrypted (it must be written into every regenerated pass).
    auth_token: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    # SHA-256 of the download token in the pkpass URL, and when that link stops working (it is
    # also cleared once the pass is installed or replaced).
    download_token_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    download_token_expires_at: Mapped[datetime | None] = mapped_column(default=None)
    # Apple: bumps on every change; the web service reports it as lastUpdated.
    update_tag: Mapped[int] = mapped_column(default=1)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Google: object id and where its insertion stands (queued | inserted | saved | deleted).
    google_object_id: Mapped[str | None] = mapped_column(String(200), default=None, unique=True)
    google_state: Mapped[str | None] = mapped_column(String(16), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    card: Mapped[Card] = relationship(back_populates="passes")
