"""`gateway points expire`: expired FIFO buckets leave the balance; safe to run any number of times.

Each run expires what is still `remaining` in buckets past their date, so a second run finds
nothing. Points reserved by a hold are not expired while held (the hold keeps them); they expire
on a later run once the hold is released.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gateway.models.ledger import LedgerEntry
from gateway.pos.cardholder import by_account
from gateway.pos.ledger import Movement, Origin, apply_change, lock_account


@dataclass(frozen=True, slots=True)
class ExpiryReport:
    """How many accounts lost how many points."""

    accounts: int
    points: int


def _expired_points(session: Session, account_id: int, now: datetime) -> int:
    return int(
        session.scalar(
            select(func.coalesce(func.sum(LedgerEntry.remaining), 0)).where(
                LedgerEntry.account_id == account_id,
                LedgerEntry.remaining > 0,
                LedgerEntry.expires_at <= now,
            )
        )
        or 0
    )


def expire_points(session: Session, now: datetime) -> ExpiryReport:
    """Expire every bucket past its date, one account per transaction."""
    account_ids = list(
        session.scalars(
            select(LedgerEntry.account_id)
            .where(LedgerEntry.remaining > 0, LedgerEntry.expires_at <= now)
            .distinct()
        )
    )
    session.rollback()
    accounts = points = 0
    for account_id in account_ids:
        lock_account(session, account_id)
        holder = by_account(session, account_id)
        expiring = min(_expired_points(session, account_id, now), holder.balance - holder.held)
        if expiring > 0:
            apply_change(
                session,
                holder,
                [Movement("expiry", -expiring)],
                Origin("system", reference=f"expiry:{now.date().isoformat()}"),
                reason="expiry",
            )
            accounts += 1
            points += expiring
        session.commit()
    return ExpiryReport(accounts, points)
