"""Apple Wallet devices and the passes they registered for update pushes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from gateway.models.base import Base, BigId, utcnow


class AppleDevice(Base):
    """A device (Wallet's device library identifier) and its APNs push token."""

    __tablename__ = "apple_devices"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    device_library_id: Mapped[str] = mapped_column(String(128), unique=True)
    push_token: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class AppleRegistration(Base):
    """One pass registered on one device; a pass may live on several devices."""

    __tablename__ = "apple_registrations"
    __table_args__ = (UniqueConstraint("device_id", "pass_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("apple_devices.id", ondelete="CASCADE"))
    pass_id: Mapped[int] = mapped_column(ForeignKey("passes.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
