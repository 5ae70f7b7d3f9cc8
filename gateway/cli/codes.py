"""`gateway codes rotate-stale`."""

from __future__ import annotations

from datetime import timedelta

import click
from flask.cli import AppGroup

from gateway.models.base import utcnow
from gateway.runtime import request_session, runtime
from gateway.services.code_rotation import rotate_stale_apple_codes

codes_group = AppGroup("codes", help="One-time codes.")


@codes_group.command("rotate-stale")
def rotate_stale_command() -> None:
    """Replace Apple codes unused for APPLE_CODE_MAX_AGE_DAYS and push the new pass."""
    days = int(runtime().config["APPLE_CODE_MAX_AGE_DAYS"])
    rotated = rotate_stale_apple_codes(request_session(), utcnow(), timedelta(days=days))
    click.echo(f"rotated {rotated} Apple code(s) older than {days} day(s)")
