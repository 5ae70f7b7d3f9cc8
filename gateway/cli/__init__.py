"""The `gateway` command: Flask's CLI plus the operator commands."""

from __future__ import annotations

from flask import Flask
from flask.cli import FlaskGroup


def register_commands(app: Flask) -> None:
    """Attach every command group to the app's CLI."""
    from gateway.cli.certs import certs_group
    from gateway.cli.keys import keys_group
    from gateway.cli.members import members_group
    from gateway.cli.setup import demo_command, init_command, worker_command

    for command in (
        init_command,
        demo_command,
        worker_command,
        members_group,
        keys_group,
        certs_group,
    ):
        app.cli.add_command(command)


def _create_app() -> Flask:
    from gateway import create_app

    return create_app()


def main() -> None:
    """Entry point of the `gateway` console script."""
    FlaskGroup(create_app=_create_app, help="Wallet-pass gateway: operator commands.")()
