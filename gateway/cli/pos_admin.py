"""`gateway stores|terminals|cards|points|holds|idempotency ...`: operating the point of sale."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from gateway.domain.errors import GatewayError
from gateway.models.base import utcnow
from gateway.pos import idempotency, terminals
from gateway.pos.checkout import iso
from gateway.pos.holds import release_all_expired_holds
from gateway.pos.lock_release import Release, unlock_card, unlock_terminal
from gateway.runtime import request_session, runtime
from gateway.services.chores.points_expiry import expire_points

stores_group = AppGroup("stores", help="Stores of a program.")
terminals_group = AppGroup("terminals", help="Till keys.")
cards_group = AppGroup("cards", help="Loyalty cards at the point of sale.")
points_group = AppGroup("points", help="Points ledger maintenance.")
holds_group = AppGroup("holds", help="Two-phase redemption holds.")
idempotency_group = AppGroup("idempotency", help="Stored Idempotency-Key answers.")


def _fail(error: GatewayError) -> click.ClickException:
    return click.ClickException(error.message)


def _report(release: Release) -> str:
    if release.lifted_lock is None:
        return f"{release.name} was not locked: nothing to do"
    return f"{release.name} unlocked (lock was until {iso(release.lifted_lock)})"


@stores_group.command("create")
@click.argument("code")
@click.option("--name", default="", help="Display name (default: the code).")
@click.option("--program", default="demo", show_default=True, help="Program slug.")
def create_store_command(code: str, name: str, program: str) -> None:
    """Create a store with CODE in a program."""
    try:
        store = terminals.create_store(request_session(), code, name, program)
    except GatewayError as error:
        raise _fail(error) from None
    click.echo(f"store {store.code} ({store.name}) created in program {program}")


@terminals_group.command("create")
@click.option("--store", "store_code", required=True, help="Store code.")
@click.option("--name", default="", help="A name for the till.")
def create_terminal_command(store_code: str, name: str) -> None:
    """Create a terminal and print its key ONCE (only a hash is stored)."""
    try:
        terminal, key = terminals.create_terminal(request_session(), store_code, name)
    except GatewayError as error:
        raise _fail(error) from None
    click.echo(f"terminal {terminal.id} created for store {store_code}")
    click.echo("key (shown once, store it in the till now):")
    click.echo(key)


@terminals_group.command("revoke")
@click.argument("id_or_prefix")
def revoke_terminal_command(id_or_prefix: str) -> None:
    """Revoke a terminal by id or key prefix; its key stops working at once."""
    try:
        terminal = terminals.revoke_terminal(request_session(), id_or_prefix)
    except GatewayError as error:
        raise _fail(error) from None
    click.echo(f"terminal {terminal.id} ({terminal.key_prefix}...) revoked")


@terminals_group.command("list")
def list_terminals_command() -> None:
    """List terminals: id, store, key prefix, name, state."""
    for terminal, store in terminals.list_terminals(request_session()):
        state = f"revoked {iso(terminal.revoked_at)}" if terminal.revoked_at else "active"
        click.echo(f"{terminal.id}\t{store.code}\t{terminal.key_prefix}...\t{terminal.name}\t{state}")


@terminals_group.command("unlock")
@click.argument("id_or_prefix")
def unlock_terminal_command(id_or_prefix: str) -> None:
    """Lift a terminal's scan lock (too many wrong codes) by id or key prefix."""
    try:
        release = unlock_terminal(request_session(), id_or_prefix, utcnow())
    except GatewayError as error:
        raise _fail(error) from None
    click.echo(_report(release))


@cards_group.command("unlock")
@click.argument("number")
@click.option("--program", default=None, help="Program slug (needed if several have NUMBER).")
def unlock_card_command(number: str, program: str | None) -> None:
    """Lift the scan lock of the card with NUMBER (too many wrong codes)."""
    try:
        release = unlock_card(request_session(), number, program, utcnow())
    except GatewayError as error:
        raise _fail(error) from None
    click.echo(_report(release))


@points_group.command("expire")
def expire_command() -> None:
    """Expire points past their validity (safe to run twice)."""
    report = expire_points(request_session(), utcnow())
    click.echo(f"expired {report.points} point(s) on {report.accounts} account(s)")


@holds_group.command("release-expired")
def release_expired_command() -> None:
    """Return the points of holds not captured within the hold TTL."""
    released = release_all_expired_holds(request_session(), utcnow())
    click.echo(f"released {released} hold(s)")


@idempotency_group.command("purge")
def purge_command() -> None:
    """Delete Idempotency-Key records older than the retention period (default 48 h)."""
    deleted = idempotency.purge(request_session(), runtime().pos_settings.idempotency_retention)
    click.echo(f"deleted {deleted} record(s)")
