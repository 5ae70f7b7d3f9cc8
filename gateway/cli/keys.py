"""`gateway keys new` and `gateway keys rotate`."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from gateway.runtime import request_session, runtime
from gateway.secret_box import SecretBox, new_key_entry, parse_key_ring
from gateway.services.chores.key_rotation import reencrypt_secrets

keys_group = AppGroup("keys", help="Secret-at-rest key ring.")


@keys_group.command("new")
@click.option("--kid", required=True, help="Id of the new key, e.g. k2.")
def new_command(kid: str) -> None:
    """Print a new ring entry; put it FIRST in GATEWAY_SECRET_KEYS, then run `keys rotate`."""
    click.echo(new_key_entry(kid))


@keys_group.command("rotate")
@click.option(
    "--add-dev-key",
    default=None,
    help="Embedded default only: add a key with this id to the instance key file first.",
)
def rotate_command(add_dev_key: str | None) -> None:
    """Re-encrypt every secret at rest with the ring's first key (old keys stay for reading)."""
    box = runtime().secret_box
    if add_dev_key:
        if runtime().settings.secret_keys:
            raise click.ClickException("--add-dev-key is for the instance key file only")
        path = Path(current_app.instance_path) / "secret-keys"
        ring = new_key_entry(add_dev_key) + "," + path.read_text().strip()
        path.write_text(ring + "\n")
        box = SecretBox(parse_key_ring(ring))
    changed = reencrypt_secrets(request_session(), box)
    click.echo(f"re-encrypted {changed} record(s) under key {box.primary_kid!r}")
