"""Point-of-sale tables: stores, terminals, used codes, redemptions, accruals (checkouts are
signed tokens, see services.checkout)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Float, ForeignKey, Index, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from gateway.models.base import Base, BigId, Points, utcnow

Money = Numeric(12, 2)


class Store(Base):
    """A shop of one program; `code` is what operators type."""

    __tablename__ = "stores"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"))
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    address: Mapped[str] = mapped_column(String(300), default="")
    # IANA name: the store's day for reports and its sending hours for messages.
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    # For pass locations (relevant when the phone is near the store).
    latitude: Mapped[float | None] = mapped_column(Float, default=None)
    longitude: Mapped[float | None] = mapped_column(Float, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Terminal(Base):
    """A till; its API key is kept only as a SHA-256 hash plus a short prefix for operators."""

    __tablename__ = "terminals"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), index=True)
    name: Mapped[str] = mapped_column(String(120), default="")
    key_prefix: Mapped[str] = mapped_column(String(16), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # Set when the terminal sent too many wrong codes: scanning pauses until then.
    locked_until: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    # Written at most once a minute by the till's requests (see pos.terminals.touch).
    last_seen_at: Mapped[datetime | None] = mapped_column(default=None)


class UsedCode(Base):
    """A one-time code that was accepted: the unique key makes acceptance happen exactly once."""

    __tablename__ = "used_codes"
    __table_args__ = (UniqueConstraint("pass_id", "step"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    pass_id: Mapped[int] = mapped_column(ForeignKey("passes.id"))
    # Google: the TOTP time step; Apple: the HOTP counter.
    step: Mapped[int] = mapped_column(BigId)
    terminal_id: Mapped[int] = mapped_column(ForeignKey("terminals.id"))
    used_at: Mapped[datetime] = mapped_column(default=utcnow)


class ScanFailure(Base):
    """A rejected code (or unknown card), counted per card and per terminal in a time window."""

    __tablename__ = "scan_failures"
    __table_args__ = (
        Index("ix_scan_failures_card_at", "card_id", "at"),
        Index("ix_scan_failures_terminal_at", "terminal_id", "at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    card_id: Mapped[int | None] = mapped_column(ForeignKey("cards.id"), default=None)
    terminal_id: Mapped[int] = mapped_column(ForeignKey("terminals.id"))
    reason: Mapped[str] = mapped_column(String(30))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class Redemption(Base):
    """Points spent on a reward or as a discount: held, captured, voided or released."""

    __tablename__ = "redemptions"
    __table_args__ = (
        Index("ix_redemptions_account_day", "account_id", "created_at"),
        Index("ix_redemptions_held", "status", "hold_expires_at"),
        Index("ix_redemptions_store_order", "store_id", "order_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    card_id: Mapped[int] = mapped_column(ForeignKey("cards.id"))
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    terminal_id: Mapped[int] = mapped_column(ForeignKey("terminals.id"))
    reward_id: Mapped[int | None] = mapped_column(ForeignKey("rewards.id"), default=None)
    points: Mapped[int] = mapped_column(Points)
    status: Mapped[str] = mapped_column(String(12))  # held | captured | voided | released
    discount_percent: Mapped[Decimal | None] = mapped_column(Numeric(5, 2), default=None)
    order_id: Mapped[str | None] = mapped_column(String(100), default=None)
    order_total: Mapped[Decimal | None] = mapped_column(Money, default=None)
    currency: Mapped[str | None] = mapped_column(String(3), default=None)
    # Points given back by refunds of the order (never more than `points`).
    returned_points: Mapped[int] = mapped_column(Points, default=0)
    hold_expires_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    settled_at: Mapped[datetime | None] = mapped_column(default=None)


class Accrual(Base):
    """Points earned for one order; an order id is accrued once per store."""

    __tablename__ = "accruals"
    __table_args__ = (UniqueConstraint("store_id", "order_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    card_id: Mapped[int] = mapped_column(ForeignKey("cards.id"))
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    terminal_id: Mapped[int] = mapped_column(ForeignKey("terminals.id"))
    order_id: Mapped[str] = mapped_column(String(100))
    order_total: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3))
    points: Mapped[int] = mapped_column(Points)
    # Points taken back by refunds so far (the proportional target, before any shortfall).
    reversed_points: Mapped[int] = mapped_column(Points, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Refund(Base):
    """One refund of an order; (store, order, refund key) is unique so a retry moves nothing."""

    __tablename__ = "refunds"
    __table_args__ = (UniqueConstraint("store_id", "order_id", "refund_key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    terminal_id: Mapped[int] = mapped_column(ForeignKey("terminals.id"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    order_id: Mapped[str] = mapped_column(String(100))
    refund_key: Mapped[str] = mapped_column(String(120))
    refund_total: Mapped[Decimal] = mapped_column(Money)
    points_reversed: Mapped[int] = mapped_column(Points, default=0)
    # Accrued points that could not be taken back because they were already spent.
    points_unrecovered: Mapped[int] = mapped_column(Points, default=0)
    points_returned: Mapped[int] = mapped_column(Points, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class IdempotencyRecord(Base):
    """A terminal's Idempotency-Key: in progress, then the first answer to replay verbatim."""

    __tablename__ = "idempotency_records"
    __table_args__ = (UniqueConstraint("terminal_id", "key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    terminal_id: Mapped[int] = mapped_column(ForeignKey("terminals.id"))
    key: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(12), default="in_progress")  # in_progress | done
    response_status: Mapped[int | None] = mapped_column(default=None)
    response_body: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

