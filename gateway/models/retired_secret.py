"""Code secrets a card's passes used before their credentials were rotated (replace, revoke,
enrolling again), kept for a while so the till can tell an old copy of the card from a guess."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from gateway.models.base import Base, BigId, utcnow


class RetiredCodeSecret(Base):
    """One retired one-time-code secret of a pass, sealed like a current one (see
    `gateway.services.issue.card_credentials.retired_secret_purpose`)."""

    __tablename__ = "retired_code_secrets"
    __table_args__ = (
        Index("ix_retired_code_secrets_card_retired", "card_id", "retired_at"),
        Index("ix_retired_code_secrets_retired_at", "retired_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    card_id: Mapped[int] = mapped_column(ForeignKey("cards.id"))
    wallet: Mapped[str] = mapped_column(String(10))  # apple | google
    # The serial the pass had while this secret was current (part of the sealing purpose).
    serial: Mapped[str] = mapped_column(String(64))
    # AES-GCM ciphertext (with key id) of the HOTP/TOTP secret.
    sealed_secret: Mapped[bytes] = mapped_column(LargeBinary)
    # Apple: the counter whose code the pass showed when the secret was retired.
    counter: Mapped[int] = mapped_column(default=0)
    totp_period: Mapped[int] = mapped_column(default=30)
    totp_digits: Mapped[int] = mapped_column(default=8)
    retired_at: Mapped[datetime] = mapped_column(default=utcnow)
