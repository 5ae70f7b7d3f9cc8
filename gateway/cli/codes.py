"""`gateway codes rotate-stale`, `gateway codes purge-used`."""

from __future__ import annotations

from datetime import timedelta

import click
from flask.cli import AppGroup

from gateway.models.base import utcnow
from gateway.pos.scan_records import keep_for, purge_scan_records
from gateway.runtime import request_session, runtime
from gateway.services.chores.code_rotation import rotate_stale_apple_codes

codes_group = AppGroup("codes", help="One-time codes.")


@codes_group.command("rotate-stale")
def rotate_stale_command() -> None:
    """Replace Apple codes unused for APPLE_CODE_MAX_AGE_DAYS and push the new pass."""
    days = runtime().settings.apple_code_max_age_days
    rotated = rotate_stale_apple_codes(request_session(), utcnow(), timedelta(days=days))
    click.echo(f"rotated {rotated} Apple code(s) older than {days} day(s)")


@codes_group.command("purge-used")
def purge_used_command() -> None:
    """Delete used codes and failed scans past SCAN_RECORD_RETENTION_HOURS (safe to rerun)."""
    session = request_session()
    settings = runtime().pos_settings
    kept = keep_for(session, settings)
    purged = purge_scan_records(session, settings, utcnow())
    click.echo(
        f"purged {purged.used_codes} used code(s) and {purged.scan_failures} failed scan(s) "
        f"older than {kept}"
    )
