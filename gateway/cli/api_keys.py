"""`gateway api-keys create|list|revoke`: keys of the admin API (/admin/v1)."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from gateway.domain.errors import GatewayError
from gateway.models.operator import ROLES
from gateway.runtime import request_session
from gateway.services.operate import api_keys
from gateway.services.operate.field_errors import FieldErrors

api_keys_group = AppGroup("api-keys", help="Admin API keys.")


def _fail(error: GatewayError) -> click.ClickException:
    if isinstance(error, FieldErrors):
        return click.ClickException("; ".join(error.fields.values()))
    return click.ClickException(error.message)


@api_keys_group.command("create")
@click.argument("name")
@click.option("--scope", required=True, type=click.Choice(ROLES), help="What the key may do.")
def create_command(name: str, scope: str) -> None:
    """Create a key and print it once (only its hash is kept)."""
    try:
        created = api_keys.create_api_key(request_session(), "cli", name, scope)
    except GatewayError as error:
        raise _fail(error) from None
    click.echo(f"API key {created.key.id} '{created.key.name}' created (scope {scope}).")
    click.echo("Copy it now: it is not shown again. Send it as `Authorization: Bearer <key>`.")
    click.echo(created.secret)


@api_keys_group.command("list")
def list_command() -> None:
    """List keys: id, name, scope, prefix, created by/at, last used, revoked."""
    for key in api_keys.list_api_keys(request_session()):
        last = f"{key.last_used_at:%Y-%m-%d %H:%M} UTC" if key.last_used_at else "never"
        state = f"revoked {key.revoked_at:%Y-%m-%d %H:%M} UTC" if key.revoked_at else "live"
        click.echo(
            f"{key.id}\t{key.name}\t{key.scope}\t{key.key_prefix}...\t"
            f"created {key.created_at:%Y-%m-%d %H:%M} UTC by {key.created_by}\t"
            f"last used {last}\t{state}"
        )


@api_keys_group.command("revoke")
@click.argument("key_id", type=int)
def revoke_command(key_id: int) -> None:
    """Stop a key at once (revoking a revoked key changes nothing)."""
    session = request_session()
    try:
        key = api_keys.revoke_api_key(session, "cli", key_id)
    except GatewayError as error:
        raise _fail(error) from None
    click.echo(f"API key {key.id} '{key.name}' is revoked.")
