"""Failed scans counted per card and per terminal in a window; at the limit, a lock + audit row.

Failures before the end of the previous lock do not count again, so a lock ends cleanly.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from gateway.models.card import Card
from gateway.models.pos import ScanFailure, Terminal
from gateway.pos.cardholder import Cardholder
from gateway.pos.checkout import iso
from gateway.pos.settings import PosSettings
from gateway.pos.terminals import TerminalContext
from gateway.runtime import Runtime
from gateway.services.keep_live.outbox import audit


def _window_start(now: datetime, settings: PosSettings, previous_lock: datetime | None) -> datetime:
    start = now - settings.failure_window
    return max(start, previous_lock) if previous_lock is not None else start


def record_failure(
    rt: Runtime, terminal: TerminalContext, holder: Cardholder | None, now: datetime
) -> datetime | None:
    """Count a failed scan in a transaction of its own (the request itself fails); lock at the
    limit. Returns the card's new lock end when this failure locked the card."""
    with rt.sessions() as session:
        locked_until = _count(session, rt.pos_settings, terminal, holder, now)
        session.commit()
    return locked_until


def _count(
    session: Session,
    settings: PosSettings,
    terminal: TerminalContext,
    holder: Cardholder | None,
    now: datetime,
) -> datetime | None:
    card_id = holder.card_id if holder is not None else None
    session.execute(
        insert(ScanFailure).values(
            card_id=card_id,
            terminal_id=terminal.terminal_id,
            reason="code_rejected" if holder is not None else "unknown_card",
            at=now,
        )
    )
    card_locked_until: datetime | None = None
    if holder is not None:
        since = _window_start(now, settings, holder.locked_until)
        failures = session.scalar(
            select(func.count()).where(
                ScanFailure.card_id == holder.card_id, ScanFailure.at > since
            )
        )
        if (failures or 0) >= settings.scan_failure_limit:
            card_locked_until = now + settings.card_lock
            session.execute(
                update(Card)
                .where(Card.id == holder.card_id)
                .values(locked_until=card_locked_until)
                .execution_options(synchronize_session=False)
            )
            audit(
                session,
                terminal.actor,
                "card.locked",
                f"card:{holder.card_number}",
                failures=failures,
                until=iso(card_locked_until),
            )
    since = _window_start(now, settings, terminal.locked_until)
    terminal_failures = session.scalar(
        select(func.count()).where(
            ScanFailure.terminal_id == terminal.terminal_id, ScanFailure.at > since
        )
    )
    if (terminal_failures or 0) >= settings.terminal_scan_failure_limit:
        until = now + settings.terminal_lock
        session.execute(
            update(Terminal)
            .where(Terminal.id == terminal.terminal_id)
            .values(locked_until=until)
            .execution_options(synchronize_session=False)
        )
        audit(
            session, terminal.actor, "terminal.locked", terminal.actor, failures=terminal_failures
        )
    return card_locked_until
