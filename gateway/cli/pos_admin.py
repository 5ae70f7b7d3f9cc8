"""`gateway stores|terminals|cards|points|holds|idempotency ...`: operating the point of sale.

Stores and tills go through gateway.services.operate.stores, as in the console and the admin API
(audited with the actor `cli`)."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from gateway.domain.errors import GatewayError
from gateway.models.base import utcnow
from gateway.models.pos import Store
from gateway.pos import idempotency, terminals
from gateway.pos.checkout import iso
from gateway.pos.holds import release_all_expired_holds
from gateway.pos.lock_release import Release, unlock_card
from gateway.runtime import request_session, runtime
from gateway.services.chores.points_expiry import expire_points
from gateway.services.operate import stores
from gateway.services.operate.field_errors import FieldErrors

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


def _fields_failure(error: FieldErrors) -> click.ClickException:
    """Every bad field on one line, named as the options are."""
    parts = [f"--{name}: {message}" for name, message in error.fields.items()]
    return click.ClickException("; ".join(parts))


def _store_options(**options: object) -> dict[str, object]:
    """The options that were given (None: not given), as service field names."""
    return {name: value for name, value in options.items() if value is not None}


def _location(store: Store) -> str:
    if store.latitude is None or store.longitude is None:
        return "-"
    return f"{store.latitude},{store.longitude}"


@stores_group.command("create")
@click.argument("code")
@click.option("--name", default="", help="Display name (default: the code).")
@click.option("--program", default="demo", show_default=True, help="Program slug.")
@click.option("--address", default=None, help="Postal address.")
@click.option("--timezone", default=None, help="IANA time zone, e.g. Europe/Berlin (default UTC).")
@click.option("--latitude", default=None, help="Latitude, -90..90 (with --longitude).")
@click.option("--longitude", default=None, help="Longitude, -180..180 (with --latitude).")
def create_store_command(
    code: str,
    name: str,
    program: str,
    address: str | None,
    timezone: str | None,
    latitude: str | None,
    longitude: str | None,
) -> None:
    """Create a store with CODE (letters, digits, dashes) in a program."""
    data = _store_options(
        code=code,
        name=name,
        program=program,
        address=address,
        timezone=timezone,
        latitude=latitude,
        longitude=longitude,
    )
    try:
        store = stores.create_store(request_session(), "cli", data)
    except FieldErrors as error:
        raise _fields_failure(error) from None
    except GatewayError as error:
        raise _fail(error) from None
    click.echo(f"store {store.code} ({store.name}) created in program {program}")


@stores_group.command("edit")
@click.argument("code")
@click.option("--name", default=None, help="Display name.")
@click.option("--address", default=None, help='Postal address ("" clears it).')
@click.option("--timezone", default=None, help="IANA time zone, e.g. Europe/Berlin.")
@click.option("--latitude", default=None, help="Latitude, -90..90 (with --longitude).")
@click.option("--longitude", default=None, help="Longitude, -180..180 (with --latitude).")
@click.option("--clear-location", is_flag=True, help="Remove the latitude and longitude.")
def edit_store_command(
    code: str,
    name: str | None,
    address: str | None,
    timezone: str | None,
    latitude: str | None,
    longitude: str | None,
    clear_location: bool,
) -> None:
    """Change the settings of the store with CODE (the options not given keep their value)."""
    data = _store_options(
        name=name, address=address, timezone=timezone, latitude=latitude, longitude=longitude
    )
    if clear_location:
        if latitude is not None or longitude is not None:
            raise click.UsageError("--clear-location cannot go with --latitude or --longitude")
        data.update(latitude="", longitude="")
    try:
        store = stores.edit_store(request_session(), "cli", code, data)
    except FieldErrors as error:
        raise _fields_failure(error) from None
    except GatewayError as error:
        raise _fail(error) from None
    click.echo(
        f"store {store.code} ({store.name}) saved: {store.timezone}, location {_location(store)}"
    )


@stores_group.command("list")
def list_stores_command() -> None:
    """List stores: code, program, name, time zone, location, live tills."""
    for row in stores.list_stores(request_session()):
        store = row.store
        click.echo(
            f"{store.code}\t{row.program_slug}\t{store.name}\t{store.timezone}\t"
            f"{_location(store)}\t{row.live_tills} till(s)"
        )


def _till_id(id_or_prefix: str) -> int:
    """The id of the till named by id or key prefix."""
    try:
        return terminals.terminal_by_id_or_prefix(request_session(), id_or_prefix).id
    except GatewayError as error:
        raise _fail(error) from None


@terminals_group.command("create")
@click.option("--store", "store_code", required=True, help="Store code.")
@click.option("--name", default="", help="A name for the till.")
def create_terminal_command(store_code: str, name: str) -> None:
    """Create a terminal and print its key ONCE (only a hash is stored)."""
    try:
        created = stores.create_till(request_session(), "cli", store_code, name)
    except FieldErrors as error:
        raise _fields_failure(error) from None
    except GatewayError as error:
        raise _fail(error) from None
    click.echo(f"terminal {created.terminal.id} created for store {store_code}")
    click.echo("key (shown once, store it in the till now):")
    click.echo(created.key)


@terminals_group.command("revoke")
@click.argument("id_or_prefix")
def revoke_terminal_command(id_or_prefix: str) -> None:
    """Revoke a terminal by id or key prefix; its key stops working at once."""
    terminal = stores.revoke_till(request_session(), "cli", _till_id(id_or_prefix))
    click.echo(f"terminal {terminal.id} ({terminal.key_prefix}...) revoked")


@terminals_group.command("list")
@click.option("--store", "store_code", default=None, help="Only this store's tills.")
def list_terminals_command(store_code: str | None) -> None:
    """List terminals: id, store, key prefix, name, state, last seen."""
    now = utcnow()
    try:
        rows = stores.list_tills(request_session(), store_code)
    except GatewayError as error:
        raise _fail(error) from None
    for row in rows:
        terminal = row.terminal
        state = stores.till_state(terminal, now)
        if terminal.revoked_at is not None:
            state = f"revoked {iso(terminal.revoked_at)}"
        elif terminal.locked_until is not None and state == "locked":
            state = f"locked until {iso(terminal.locked_until)}"
        seen = iso(terminal.last_seen_at) if terminal.last_seen_at else "never"
        click.echo(
            f"{terminal.id}\t{row.store_code}\t{terminal.key_prefix}...\t{terminal.name}\t"
            f"{state}\tlast seen {seen}"
        )


@terminals_group.command("unlock")
@click.argument("id_or_prefix")
def unlock_terminal_command(id_or_prefix: str) -> None:
    """Lift a terminal's scan lock (too many wrong codes) by id or key prefix."""
    unlock = stores.unlock_till(request_session(), "cli", _till_id(id_or_prefix), utcnow())
    terminal = unlock.terminal
    click.echo(
        _report(Release(f"terminal {terminal.id} ({terminal.key_prefix}...)", unlock.lifted_lock))
    )


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
