"""The periodic chores the worker runs: each is safe to run any number of times."""

from __future__ import annotations

from datetime import timedelta

from gateway.models.base import utcnow
from gateway.pos import idempotency
from gateway.pos.holds import release_all_expired_holds
from gateway.pos.scan_lockout import purge_refusals
from gateway.pos.scan_records import keep_for, purge_scan_records
from gateway.runtime import Runtime
from gateway.services.chores.code_rotation import rotate_stale_apple_codes
from gateway.services.chores.outbox_purge import purge_delivered_events
from gateway.services.chores.points_expiry import expire_points
from gateway.services.issue.card_credentials import purge_retired_secrets
from gateway.services.reports.rollups import refresh_rollups


def run_housekeeping(rt: Runtime) -> dict[str, int]:
    """Expire points, release stale holds, rotate stale Apple codes, purge old idempotency keys
    old scan records (after adding them to the report rollups) and delivered outbox events past
    OUTBOX_RETENTION_HOURS, and retired code secrets past RETIRED_CODE_SECRET_DAYS."""
    now = utcnow()
    with rt.sessions() as session:
        expired = expire_points(session, now)
        released = release_all_expired_holds(session, now)
        rotated = rotate_stale_apple_codes(
            session, now, timedelta(days=rt.settings.apple_code_max_age_days)
        )
        purged = idempotency.purge(session, rt.pos_settings.idempotency_retention)
        # Scan records go into the report rollups before the purge below deletes them.
        rolled_up = refresh_rollups(session, now)
        scans = purge_scan_records(session, rt.pos_settings, now)
        refusals = purge_refusals(session, now - keep_for(session, rt.pos_settings))
        events = purge_delivered_events(
            session, now, timedelta(hours=rt.settings.outbox_retention_hours)
        )
        retired = purge_retired_secrets(
            session, now, timedelta(days=rt.settings.retired_code_secret_days)
        )
    return {
        "points_expired": expired.points,
        "holds_released": released,
        "codes_rotated": rotated,
        "idempotency_purged": purged,
        "used_codes_purged": scans.used_codes,
        "scan_failures_purged": scans.scan_failures,
        "scan_refusals_purged": refusals,
        "outbox_events_purged": events,
        "retired_secrets_purged": retired,
        "report_ids_rolled_up": rolled_up,
    }
