"""Nonces of Google Wallet callbacks already processed (each callback counts once)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from gateway.models.base import Base, BigId, utcnow


class GoogleCallbackNonce(Base):
    """One processed callback."""

    __tablename__ = "google_callback_nonces"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    nonce: Mapped[str] = mapped_column(String(200), unique=True)
    object_id: Mapped[str] = mapped_column(String(200))
    event_type: Mapped[str] = mapped_column(String(10))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
