"""Apply a points change: one conditional account UPDATE, ledger rows, FIFO buckets, audit, event.

Holds: held points stay in `balance` and are counted in `held`, so `balance - held` is what can
be spent. A hold row moves 0 points and +n held; capture moves -n points and -n held; release
moves -n held. So the ledger's points always sum to `balance` and its held changes to `held`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from gateway.domain.points import consume_fifo
from gateway.models.ledger import LedgerEntry
from gateway.models.member import Account
from gateway.pos.cardholder import Cardholder
from gateway.pos.errors import insufficient_points
from gateway.services.keep_live.outbox import add_event, audit


@dataclass(frozen=True, slots=True)
class Movement:
    """One ledger row: signed points, change of held points, and (for credits) the bucket expiry."""

    kind: str
    points: int = 0
    held_change: int = 0
    expires_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Balance:
    """An account's balance after a change."""

    points: int
    held: int
    lifetime_points: int

    def as_json(self) -> dict[str, int]:
        """The `balance` object of the POS answers."""
        return {"points": self.points, "held": self.held}


@dataclass(frozen=True, slots=True)
class Origin:
    """Who caused a change and for which order or document."""

    actor: str
    store_id: int | None = None
    order_id: str | None = None
    reference: str | None = None


def lock_account(session: Session, account_id: int) -> None:
    """Take the account's row lock first, so every writer locks rows in the same order."""
    session.execute(
        update(Account)
        .where(Account.id == account_id)
        .values(held=Account.held)
        .execution_options(synchronize_session=False)
    )


def move_points(
    session: Session,
    account_id: int,
    movements: Sequence[Movement],
    origin: Origin,
    *,
    lifetime_change: int = 0,
) -> Balance:
    """Update the balance atomically (never below zero) and write the ledger rows.

    Raises insufficient_points when `balance - held` cannot cover the change.
    """
    points = sum(m.points for m in movements)
    held = sum(m.held_change for m in movements)
    row = session.execute(
        update(Account)
        .where(
            Account.id == account_id,
            Account.balance + points - (Account.held + held) >= 0,
            Account.held + held >= 0,
            Account.lifetime_points + lifetime_change >= 0,
        )
        .values(
            balance=Account.balance + points,
            held=Account.held + held,
            lifetime_points=Account.lifetime_points + lifetime_change,
        )
        .returning(Account.balance, Account.held, Account.lifetime_points)
        .execution_options(synchronize_session=False)
    ).first()
    if row is None:
        raise insufficient_points()
    session.execute(
        insert(LedgerEntry),
        [
            {
                "account_id": account_id,
                "kind": m.kind,
                "points": m.points,
                "held_change": m.held_change,
                "remaining": max(m.points, 0),
                "expires_at": m.expires_at if m.points > 0 else None,
                "actor": origin.actor,
                "store_id": origin.store_id,
                "order_id": origin.order_id,
                "reference": origin.reference,
            }
            for m in movements
        ],
    )
    spent = -sum(m.points for m in movements if m.points < 0)
    if spent:
        _consume_buckets(session, account_id, spent)
    return Balance(row[0], row[1], row[2])


def _consume_buckets(session: Session, account_id: int, points: int) -> None:
    buckets = session.execute(
        select(LedgerEntry.id, LedgerEntry.remaining)
        .where(LedgerEntry.account_id == account_id, LedgerEntry.remaining > 0)
        .order_by(LedgerEntry.expires_at.asc().nulls_last(), LedgerEntry.id)
    ).all()
    changes = consume_fifo([(b[0], b[1]) for b in buckets], points)
    session.execute(
        update(LedgerEntry).execution_options(synchronize_session=False),
        [{"id": bucket_id, "remaining": remaining} for bucket_id, remaining in changes],
    )


def change_documents(
    holder: Cardholder,
    balance: Balance,
    origin: Origin,
    *,
    reason: str,
    points: int,
    held_change: int = 0,
    tier: str | None = None,
    **details: Any,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The audit details and the `balance.changed` payload of a change."""
    audit_details = {
        "points": points,
        "held_change": held_change,
        "balance": balance.points,
        "held": balance.held,
        "store_id": origin.store_id,
        "order_id": origin.order_id,
        "reference": origin.reference,
        **details,
    }
    payload = {
        "program": holder.program_slug,
        "crm_member_id": holder.crm_id,
        "card_number": holder.card_number,
        "balance": balance.points,
        "held": balance.held,
        "tier": tier or holder.tier,
        "reason": reason,
        "points": points,
        "held_change": held_change,
        "order_id": origin.order_id,
        "reference": origin.reference,
    }
    return audit_details, payload


def record_change(
    session: Session,
    holder: Cardholder,
    balance: Balance,
    origin: Origin,
    *,
    reason: str,
    points: int,
    held_change: int = 0,
    tier: str | None = None,
    **details: Any,
) -> None:
    """The audit row and the one `balance.changed` event (CRM + pass update) of a change."""
    audit_details, payload = change_documents(
        holder,
        balance,
        origin,
        reason=reason,
        points=points,
        held_change=held_change,
        tier=tier,
        **details,
    )
    audit(session, origin.actor, f"points.{reason}", f"account:{holder.account_id}",
          **audit_details)
    add_event(session, "balance.changed", payload)


def apply_change(
    session: Session,
    holder: Cardholder,
    movements: Sequence[Movement],
    origin: Origin,
    *,
    reason: str,
    lifetime_change: int = 0,
    **details: Any,
) -> Balance:
    """move_points + record_change: the whole of one ledger change, in the caller's transaction."""
    balance = move_points(
        session, holder.account_id, movements, origin, lifetime_change=lifetime_change
    )
    record_change(
        session,
        holder,
        balance,
        origin,
        reason=reason,
        points=sum(m.points for m in movements),
        held_change=sum(m.held_change for m in movements),
        **details,
    )
    return balance
