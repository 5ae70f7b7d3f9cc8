"""`gateway programs pause|resume`: the program's kill switch."""

from __future__ import annotations

import click

from gateway.cli.programs import programs_group
from gateway.domain.errors import GatewayError
from gateway.runtime import request_session
from gateway.services.operate.kill_switches import set_redemptions_enabled


def _switch(slug: str, enabled: bool) -> None:
    try:
        program = set_redemptions_enabled(request_session(), "cli", slug, enabled)
    except GatewayError as error:
        raise click.ClickException(error.message) from None
    state = "allowed" if program.redemptions_enabled else "paused"
    click.echo(f"redemptions of program {program.slug} are {state}")


@programs_group.command("pause")
@click.argument("slug")
def pause_command(slug: str) -> None:
    """Pause every redemption of program SLUG from the tills' next request (accruals go on)."""
    _switch(slug, False)


@programs_group.command("resume")
@click.argument("slug")
def resume_command(slug: str) -> None:
    """Allow redemptions of program SLUG again."""
    _switch(slug, True)
