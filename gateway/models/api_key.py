"""Admin API keys: created by an admin, shown once, kept as a SHA-256 hash with a scope."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from gateway.models.base import Base, BigId, utcnow


class ApiKey(Base):
    """A key of the admin API; its scope is one of the console roles and allows what it allows."""

    __tablename__ = "api_keys"
    __table_args__ = (CheckConstraint("scope IN ('admin', 'marketer', 'support')", name="scope"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    scope: Mapped[str] = mapped_column(String(20))
    # The first characters of the key, for operators to recognise it in lists.
    key_prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)
