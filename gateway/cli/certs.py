"""`gateway certs dev`: write the throwaway development chain into <instance>/certs."""

from __future__ import annotations

import os
from pathlib import Path

import click
from flask import Flask, current_app, has_app_context

from gateway.config import Settings
from gateway.devcerts import (
    DEFAULT_PASS_TYPE_ID,
    DEFAULT_TEAM_ID,
    dev_cert_paths,
    generate_dev_chain,
)

_IDENTIFIERS = ("APPLE_PASS_TYPE_ID", "APPLE_TEAM_ID")


def _instance_and_settings() -> tuple[Path, Settings]:
    """The app's instance folder and settings; without an app context, what create_app would use.

    The fallback lets `gateway certs dev --force` repair a dev chain even when registered where
    the app is not loaded (for example when broken credentials stop the app from starting); only
    the two settings the command needs are read, so no other setting can stop it.
    """
    if has_app_context():
        instance_path, config = current_app.instance_path, current_app.config
    else:
        bare = Flask("gateway", instance_path=os.environ.get("GATEWAY_INSTANCE_PATH") or None)
        bare.config.from_prefixed_env("GATEWAY")
        instance_path, config = bare.instance_path, bare.config
    wanted = {key: config[key] for key in _IDENTIFIERS if key in config}
    return Path(instance_path), Settings.from_mapping(wanted)


@click.group("certs")
def certs_group() -> None:
    """Manage wallet signing credentials."""


@certs_group.command("dev")
@click.option("--force", is_flag=True, help="Replace existing development files.")
@click.option(
    "--pass-type-id",
    default=None,
    help="Pass type identifier for the certificate UID (default: APPLE_PASS_TYPE_ID or "
    f"{DEFAULT_PASS_TYPE_ID}).",
)
@click.option(
    "--team-id",
    default=None,
    help=f"Team identifier for the certificate OU (default: APPLE_TEAM_ID or {DEFAULT_TEAM_ID}).",
)
def dev_command(force: bool, pass_type_id: str | None, team_id: str | None) -> None:
    """Generate a fake WWDR CA, a pass certificate and a Google service-account key."""
    instance_path, settings = _instance_and_settings()
    directory = instance_path / "certs"
    existing = dev_cert_paths(directory)
    kept = not force and all(p.is_file() for p in (*existing.apple_files, *existing.google_files))
    paths = generate_dev_chain(
        directory,
        pass_type_id=pass_type_id or settings.apple_pass_type_id or DEFAULT_PASS_TYPE_ID,
        team_id=team_id or settings.apple_team_id or DEFAULT_TEAM_ID,
        force=force,
    )
    click.echo("Development credentials (not trusted by Apple or Google):")
    for label, path in (
        ("WWDR certificate (fake CA)", paths.wwdr_cert),
        ("pass certificate", paths.pass_cert),
        ("pass private key", paths.pass_key),
        ("Google service account", paths.google_service_account),
        ("Google service-account certificate", paths.google_service_account_cert),
    ):
        click.echo(f"  {label + ':':<37}{path}")
    if kept:
        click.echo("These files existed and were kept; use --force to replace them.")
