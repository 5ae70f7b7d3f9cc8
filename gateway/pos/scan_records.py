"""Old scan records go: used one-time codes and failed scans past the time they can matter.

A used code guards against a replay only while the code could still be accepted (Google: the
TOTP window around its step; Apple: the current counter and the one just used, which the code
check allows anyway) and lets a re-scan find its checkout while that is open. A failed scan
counts only inside the lockout window. So each is kept for the configured retention, and never
for less than the longest of those spans. Both tables take a row per scan: without this they
grow forever.

Rows are deleted by id below the first one young enough to keep: ids grow with time, the
primary key finds that row, and the hot insert paths need no index on the timestamp.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from gateway.models.pos import ScanFailure, UsedCode
from gateway.models.program import Program
from gateway.pos.settings import PosSettings


@dataclass(frozen=True, slots=True)
class Purged:
    """How many rows of each kind were deleted."""

    used_codes: int
    scan_failures: int


def keep_for(session: Session, settings: PosSettings) -> timedelta:
    """The retention, raised to the longest span a record can still matter for."""
    longest_period = session.scalar(select(func.max(Program.totp_period_seconds))) or 30
    steps = settings.totp_backward_steps + settings.totp_forward_steps + 1
    code_window = timedelta(seconds=int(longest_period) * (steps + 1))
    lockout = settings.failure_window + max(settings.card_lock, settings.terminal_lock)
    return max(settings.scan_record_retention, settings.checkout_ttl, code_window, lockout)


def purge_scan_records(session: Session, settings: PosSettings, now: datetime) -> Purged:
    """Delete used codes and failed scans older than `keep_for`; safe to run any time."""
    cutoff = now - keep_for(session, settings)
    used = _delete_older(session, UsedCode, UsedCode.used_at, cutoff)
    failures = _delete_older(session, ScanFailure, ScanFailure.at, cutoff)
    session.commit()
    return Purged(used, failures)


def _delete_older(
    session: Session,
    model: type[UsedCode] | type[ScanFailure],
    at: InstrumentedAttribute[datetime],
    cutoff: datetime,
) -> int:
    first_kept = session.scalar(select(model.id).where(at >= cutoff).order_by(model.id).limit(1))
    old = at < cutoff  # also stated, so a row written meanwhile is never taken
    condition = and_(model.id < first_kept, old) if first_kept is not None else old
    result = session.execute(delete(model).where(condition))
    return int(getattr(result, "rowcount", 0))
