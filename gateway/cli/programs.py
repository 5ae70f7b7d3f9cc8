"""`gateway programs create|edit|show`: programs from a JSON file, for scripts.

The file holds the fields `gateway programs show SLUG` prints; `edit` changes only the keys the
file has. The program kill switch (`pause`/`resume`) is in program_switches.py."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from flask.cli import AppGroup

from gateway.domain.errors import GatewayError
from gateway.runtime import request_session, runtime
from gateway.services.issue.programs import wallet_ids
from gateway.services.operate import programs
from gateway.services.operate.field_errors import FieldErrors

programs_group = AppGroup("programs", help="Loyalty programs.")

ACTOR = "cli"
# A program file is a few kilobytes; anything far larger is not one.
MAX_FILE_BYTES = 1_000_000


def _fail(error: GatewayError) -> click.ClickException:
    """Every field message on its own line (exit status 1)."""
    if isinstance(error, FieldErrors):
        return click.ClickException(
            "the program was not saved:\n"
            + "\n".join(f"  {name}: {text}" for name, text in error.fields.items())
        )
    return click.ClickException(error.message)


def _read(path: Path) -> dict[str, Any]:
    """The JSON object of the file, or a one-line error."""
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise click.ClickException(f"{path}: larger than any program file can be")
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise click.ClickException(f"{path}: cannot read it ({error.strerror})") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise click.ClickException(f"{path}: not valid JSON ({error})") from None
    if not isinstance(data, dict):
        raise click.ClickException(f"{path}: the file must hold a JSON object")
    return data


_FILE = click.option(
    "--file",
    "path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="JSON file with the program's fields (as `gateway programs show` prints them).",
)


@programs_group.command("create")
@_FILE
def create_command(path: Path) -> None:
    """Create a program from a JSON file (slug, name, organization and currency required)."""
    data = _read(path)
    try:
        program = programs.create_program(request_session(), wallet_ids(runtime()), ACTOR, data)
    except GatewayError as error:
        raise _fail(error) from None
    click.echo(f"program {program.slug} created (version {program.version})")


@programs_group.command("edit")
@click.argument("slug")
@_FILE
def edit_command(slug: str, path: Path) -> None:
    """Change the fields of program SLUG that the file has.

    Without "version" in the file the edit applies to the current version; with it, a program
    saved by someone else since then is refused (edit conflict)."""
    data = _read(path)
    session = request_session()
    try:
        version = data.pop("version", None)
        if version is None:
            version = programs.get_program(session, slug).version
        elif isinstance(version, bool) or not isinstance(version, int):
            raise FieldErrors({"version": "Must be a whole number (or leave it out)."})
        saved = programs.edit_program(session, ACTOR, slug, data, version)
    except GatewayError as error:
        raise _fail(error) from None
    if not saved.changed:
        click.echo(f"program {slug}: nothing changed")
        return
    click.echo(
        f"program {slug} saved (version {saved.program.version}): " + ", ".join(saved.changed)
    )
    if saved.refresh_id is not None:
        click.echo(f"issued passes are being updated (pass update {saved.refresh_id})")


@programs_group.command("show")
@click.argument("slug")
def show_command(slug: str) -> None:
    """Print program SLUG as JSON, the form `create` and `edit` accept."""
    try:
        program = programs.get_program(request_session(), slug)
    except GatewayError as error:
        raise _fail(error) from None
    click.echo(json.dumps(programs.program_fields(program), indent=2, ensure_ascii=False))
