"""The `gateway` command: Flask's CLI plus the operator commands."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import FlaskGroup


def register_commands(app: Flask) -> None:
    """Attach every command group to the app's CLI."""
    # These modules add commands to groups defined elsewhere.
    import gateway.cli.cards  # revoke/replace on the cards group
    import gateway.cli.point_adjustments  # adjust on the points group
    import gateway.cli.program_switches  # noqa: F401  (pause/resume on the programs group)
    from gateway.cli.api_keys import api_keys_group
    from gateway.cli.codes import codes_group
    from gateway.cli.keys import keys_group
    from gateway.cli.members import members_group
    from gateway.cli.operators import operators_group
    from gateway.cli.pos_admin import (
        cards_group,
        holds_group,
        idempotency_group,
        points_group,
        stores_group,
        terminals_group,
    )
    from gateway.cli.programs import programs_group
    from gateway.cli.rewards import rewards_group
    from gateway.cli.setup import demo_command, init_command, worker_command

    for command in (
        init_command,
        demo_command,
        worker_command,
        members_group,
        keys_group,
        codes_group,
        stores_group,
        terminals_group,
        cards_group,
        points_group,
        holds_group,
        idempotency_group,
        operators_group,
        programs_group,
        rewards_group,
        api_keys_group,
    ):
        app.cli.add_command(command)


def _create_app() -> Flask:
    """The app, or a one-line error naming the file or setting that stops start-up."""
    from gateway import create_app
    from gateway.adapters.registry import ConfigurationError
    from gateway.credentials import CredentialsError

    try:
        return create_app()
    except (CredentialsError, ConfigurationError) as exc:
        raise click.ClickException(f"cannot start: {exc}") from exc


def main() -> None:
    """Entry point of the `gateway` console script."""
    from gateway.cli.certs import certs_group
    from gateway.cli.pos_simulate import pos_group

    cli = FlaskGroup(create_app=_create_app, help="Wallet-pass gateway: operator commands.")
    # Registered outside the app: `certs dev --force` must work when the current chain is broken,
    # and `pos simulate` is a till talking HTTP to a running gateway, not this process's app.
    cli.add_command(certs_group)
    cli.add_command(pos_group)
    cli()
