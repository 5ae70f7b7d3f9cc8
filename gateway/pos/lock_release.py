"""Operators lift a card's or a terminal's scan lock before it ends.

The lock end is moved to the unlock time rather than cleared: scan_lockout counts only failures
after the previous lock end, so the wrong codes that caused the lock cannot re-lock it at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.domain.errors import GatewayError, not_found
from gateway.models.card import Card
from gateway.models.pos import Terminal
from gateway.models.program import Program
from gateway.pos.checkout import iso
from gateway.pos.terminals import terminal_by_id_or_prefix
from gateway.services.keep_live.outbox import audit


@dataclass(frozen=True, slots=True)
class Release:
    """What an unlock did: whom it named, and the lock end it lifted (None: was not locked)."""

    name: str
    lifted_lock: datetime | None


def _lift(
    session: Session,
    holder: Card | Terminal,
    action: str,
    subject: str,
    now: datetime,
    **details: str,
) -> datetime | None:
    """Move a live lock's end to `now` and audit it; the lock end lifted, or None."""
    until = holder.locked_until
    if until is None or until <= now:
        return None
    # Not NULL: `now` becomes the start of the failure window (scan_lockout._window_start).
    holder.locked_until = now
    audit(session, "operator", action, subject, was_locked_until=iso(until), **details)
    return until


def unlock_card(session: Session, number: str, program: str | None, now: datetime) -> Release:
    """Lift the lock of the card with this number (in `program`, needed if several have it)."""
    query = (
        select(Card, Program.slug)
        .join(Program, Program.id == Card.program_id)
        .where(Card.number == number)
    )
    if program is not None:
        query = query.where(Program.slug == program)
    rows = session.execute(query).all()
    if not rows:
        raise not_found(f"card {number!r}" + (f" in program {program!r}" if program else ""))
    if len(rows) > 1:
        slugs = ", ".join(sorted(row[1] for row in rows))
        raise GatewayError(
            "ambiguous",
            f"card {number!r} exists in several programs ({slugs}): choose one with --program",
            409,
        )
    card, slug = rows[0]
    lifted = _lift(session, card, "card.unlocked", f"card:{number}", now, program=slug)
    session.commit()
    return Release(f"card {number} (program {slug})", lifted)


def unlock_terminal(session: Session, id_or_prefix: str, now: datetime) -> Release:
    """Lift the scan lock of a terminal named by id or key prefix."""
    terminal = terminal_by_id_or_prefix(session, id_or_prefix)
    lifted = _lift(session, terminal, "terminal.unlocked", f"terminal:{terminal.id}", now)
    session.commit()
    return Release(f"terminal {terminal.id} ({terminal.key_prefix}...)", lifted)
