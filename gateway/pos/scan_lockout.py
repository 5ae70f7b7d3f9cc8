"""Failed scans counted per card and per terminal in a window; at the limit, a lock + audit row.

A failure is recorded under row locks taken before counting (the terminal's row, then the
card's: one order everywhere, so two recorders cannot deadlock), and only while neither is
locked: under any concurrency a card records at most SCAN_FAILURE_LIMIT failures and a till at
most TERMINAL_SCAN_FAILURE_LIMIT per lock, and every guess beyond answers card_locked or
rate_limited instead of code_rejected. Failures before the end of the previous lock do not
count again, so a lock ends cleanly.

A code of an old copy of the card (a secret retired by a replace) is not a guess at the card: it
counts toward the till's limit only (so a till cannot use it to probe) and never locks the card,
which would lock the customer's new pass out along with the lost one.

Refusals that are not guesses (a replayed code, a scan of a locked card, a malformed scan) go
to scan_refusals instead, which the lockout never reads: the reports count them, and a failure
to record one is logged and never changes the till's answer.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, delete, func, insert, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from gateway.domain.errors import GatewayError
from gateway.models.card import Card
from gateway.models.pos import ScanFailure, Terminal
from gateway.models.scan_refusal import ScanRefusal
from gateway.pos import errors
from gateway.pos.cardholder import Cardholder
from gateway.pos.checkout import iso
from gateway.pos.settings import PosSettings
from gateway.pos.terminals import TerminalContext
from gateway.runtime import Runtime
from gateway.services.keep_live.outbox import audit

logger = logging.getLogger(__name__)

# Reasons of scan_refusals rows (the reports' scan outcomes of the same names).
REPLAYED, CARD_LOCKED, MALFORMED = "replayed", "card_locked", "malformed"


@dataclass(frozen=True, slots=True)
class LockedCard:
    """The card a failure counts against, with its lock end as read under its row lock."""

    card_id: int
    number: str
    locked_until: datetime | None


def _window_start(now: datetime, settings: PosSettings, previous_lock: datetime | None) -> datetime:
    start = now - settings.failure_window
    return max(start, previous_lock) if previous_lock is not None else start


def lock_terminal_row(session: Session, terminal_id: int) -> datetime | None:
    """Lock the terminal's row for this transaction and read its lock end, fresh.

    FOR NO KEY UPDATE, not FOR UPDATE: rows inserted elsewhere that reference the terminal (a
    used code, a redemption) take a key-share lock on it and must not wait for this one."""
    return session.scalar(
        select(Terminal.locked_until)
        .where(Terminal.id == terminal_id)
        .with_for_update(key_share=True)
    )


def _lock_card_row(session: Session, holder: Cardholder) -> LockedCard:
    until = session.scalar(
        select(Card.locked_until).where(Card.id == holder.card_id).with_for_update(key_share=True)
    )
    return LockedCard(holder.card_id, holder.card_number, until)


def record_failure(
    rt: Runtime,
    terminal: TerminalContext,
    holder: Cardholder | None,
    now: datetime,
    *,
    old_copy: bool = False,
) -> GatewayError | None:
    """Count a failed scan in a transaction of its own (the request itself fails); with
    `old_copy` (a code of the card's retired secret), toward the till's limit only.

    Returns the answer that replaces the scan's own one: rate_limited or card_locked when the
    till or the card was locked before this failure could be counted (nothing is counted; a
    card locked meanwhile is recorded as a refusal), or card_locked when this failure locked
    the card; None when the failure was counted."""
    settings = rt.pos_settings
    with rt.sessions() as session:
        terminal_until = lock_terminal_row(session, terminal.terminal_id)
        if terminal_until is not None and terminal_until > now:
            session.rollback()
            return errors.terminal_rate_limited(terminal_until, now)
        counted = holder if not old_copy else None
        card = _lock_card_row(session, counted) if counted is not None else None
        if card is None or card.locked_until is None or card.locked_until <= now:
            if old_copy:
                reason = "old_copy"
            else:
                reason = "code_rejected" if holder is not None else "unknown_card"
            card_lock = count_failure(
                session, settings, terminal, terminal_until, card, reason, now
            )
            session.commit()
            return errors.card_locked(card_lock, now) if card_lock is not None else None
        session.rollback()
    # Locked meanwhile: not a guess that counts, a scan of a locked card (recorded as one once
    # the row locks above are released).
    record_refusal(rt, terminal, card.card_id, CARD_LOCKED, now)
    return errors.card_locked(card.locked_until, now)


def record_refusal(
    rt: Runtime, terminal: TerminalContext, card_id: int | None, reason: str, now: datetime
) -> None:
    """Record a scan refused without counting toward any lock (REPLAYED, CARD_LOCKED,
    MALFORMED), in a unit of work of its own after the scan's transaction ended.

    For the reports only: a failure to record is logged and swallowed, so the till still gets
    the scan's own answer."""
    try:
        with rt.sessions() as session:
            session.execute(
                insert(ScanRefusal).values(
                    terminal_id=terminal.terminal_id,
                    store_id=terminal.store_id,
                    card_id=card_id,
                    reason=reason,
                    at=now,
                )
            )
            session.commit()
    except SQLAlchemyError:
        logger.warning(
            "could not record a refused scan (%s) of terminal %s",
            reason,
            terminal.terminal_id,
            exc_info=True,
        )


def purge_refusals(session: Session, cutoff: datetime) -> int:
    """Delete refused scans older than `cutoff` (by id below the first one kept, as
    scan_records does) and commit; how many."""
    first_kept = session.scalar(
        select(ScanRefusal.id).where(ScanRefusal.at >= cutoff).order_by(ScanRefusal.id).limit(1)
    )
    old = ScanRefusal.at < cutoff
    condition = and_(ScanRefusal.id < first_kept, old) if first_kept is not None else old
    result = session.execute(delete(ScanRefusal).where(condition))
    session.commit()
    return int(getattr(result, "rowcount", 0))


def count_failure(
    session: Session,
    settings: PosSettings,
    terminal: TerminalContext,
    terminal_until: datetime | None,
    card: LockedCard | None,
    reason: str,
    now: datetime,
) -> datetime | None:
    """Record one failure (the terminal's row, and the card's if any, locked by the caller) and
    lock at the limits. Returns the card's new lock end when this failure locked the card."""
    session.execute(
        insert(ScanFailure).values(
            card_id=card.card_id if card is not None else None,
            terminal_id=terminal.terminal_id,
            reason=reason,
            at=now,
        )
    )
    card_locked_until: datetime | None = None
    if card is not None:
        since = _window_start(now, settings, card.locked_until)
        failures = session.scalar(
            select(func.count()).where(ScanFailure.card_id == card.card_id, ScanFailure.at > since)
        )
        if (failures or 0) >= settings.scan_failure_limit:
            card_locked_until = now + settings.card_lock
            session.execute(
                update(Card)
                .where(Card.id == card.card_id)
                .values(locked_until=card_locked_until)
                .execution_options(synchronize_session=False)
            )
            audit(
                session,
                terminal.actor,
                "card.locked",
                f"card:{card.number}",
                failures=failures,
                until=iso(card_locked_until),
            )
    since = _window_start(now, settings, terminal_until)
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
