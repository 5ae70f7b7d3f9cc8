"""`gateway members import FILE.csv`."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

from gateway.domain.errors import GatewayError
from gateway.runtime import request_session
from gateway.services.issue.member_import import import_rows, read_rows
from gateway.services.issue.programs import find_program

members_group = AppGroup("members", help="Member base commands.")


@members_group.command("import")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--program", default="demo", show_default=True, help="Program slug.")
def import_command(csv_file: Path, program: str) -> None:
    """Load card_number,balance,tier,email,phone,name,discount_percent rows into the CRM."""
    session = request_session()
    if find_program(session, program) is None:
        raise click.ClickException(f"no program {program!r}")
    with csv_file.open(encoding="utf-8") as counting:
        total = max(sum(1 for _ in counting) - 1, 0)
    with csv_file.open(newline="", encoding="utf-8") as handle:
        try:
            rows = read_rows(handle)
        except GatewayError as exc:
            raise click.ClickException(exc.message) from exc
        with click.progressbar(rows, length=total, label="importing members") as progress:
            report = import_rows(session, program, progress)
    click.echo(f"imported {report.imported} member(s), {len(report.errors)} rejected")
    for line, reason in report.errors:
        click.echo(f"  line {line}: {reason}", err=True)
