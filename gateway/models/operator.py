"""Operator accounts of the console and their server-side sign-in sessions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from gateway.models.base import Base, BigId, utcnow

ROLES = ("admin", "marketer", "support")


class Operator(Base):
    """A person who runs the program; the password is an argon2 hash, the TOTP secret sealed."""

    __tablename__ = "operators"
    __table_args__ = (CheckConstraint("role IN ('admin', 'marketer', 'support')", name="role"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # Normalized: trimmed and lower-cased (see services.console.operators.normalize_email).
    email: Mapped[str] = mapped_column(String(254), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    # None until the operator opens the set-password link.
    password_hash: Mapped[str | None] = mapped_column(String(255), default=None)
    # AES-GCM (secret box) of the TOTP secret; pending: shown on the enrolment page, not confirmed.
    totp_secret: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    totp_pending_secret: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    # The last accepted TOTP time step: a code is accepted once.
    totp_last_step: Mapped[int] = mapped_column(BigId, default=0)
    failed_signins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None] = mapped_column(default=None)
    # SHA-256 of the one-time set-password link's token.
    password_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True, default=None)
    password_token_expires_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_signin_at: Mapped[datetime | None] = mapped_column(default=None)


class OperatorSession(Base):
    """A signed-in browser: the cookie holds a random token, this row its SHA-256.

    Deleting the row ends the session at once (sign-out, idle time, new password)."""

    __tablename__ = "operator_sessions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("operators.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
