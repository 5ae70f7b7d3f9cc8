"""`gateway operators create|password-link|list`: console accounts."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from gateway.domain.errors import GatewayError
from gateway.models.base import utcnow
from gateway.models.operator import ROLES
from gateway.runtime import request_session, runtime
from gateway.services.console import operators
from gateway.services.console.operators import PasswordLink

operators_group = AppGroup("operators", help="Operator accounts of the console (/console).")


def _print_link(link: PasswordLink) -> None:
    url = runtime().settings.public_base_url.rstrip("/") + operators.set_password_path(link.token)
    click.echo("Open this link to set the password (it works once, for 24 hours):")
    click.echo(url)


@operators_group.command("create")
@click.argument("email")
@click.option("--role", required=True, type=click.Choice(ROLES), help="What the operator may do.")
def create_command(email: str, role: str) -> None:
    """Create an operator and print the one-time link to set their password."""
    try:
        operator, link = operators.create_operator(request_session(), email, role, "cli")
    except GatewayError as error:
        raise click.ClickException(error.message) from None
    click.echo(f"operator {operator.email} created (role {operator.role})")
    _print_link(link)


@operators_group.command("password-link")
@click.argument("email")
def password_link_command(email: str) -> None:
    """Print a new one-time set-password link (a forgotten password; the old link stops)."""
    try:
        link = operators.issue_password_link(request_session(), email, "cli")
    except GatewayError as error:
        raise click.ClickException(error.message) from None
    _print_link(link)


@operators_group.command("list")
def list_command() -> None:
    """List operators: e-mail, role, two-step sign-in, state, last sign-in."""
    now = utcnow()
    for operator in operators.list_operators(request_session()):
        if operator.password_hash is None:
            state = "password not set"
        elif operator.locked_until is not None and operator.locked_until > now:
            state = f"locked until {operator.locked_until:%Y-%m-%d %H:%M} UTC"
        else:
            state = "active"
        two_step = "2fa on" if operator.totp_secret is not None else "2fa off"
        last = (
            f"{operator.last_signin_at:%Y-%m-%d %H:%M} UTC" if operator.last_signin_at else "never"
        )
        click.echo(f"{operator.email}\t{operator.role}\t{two_step}\t{state}\tlast sign-in {last}")
