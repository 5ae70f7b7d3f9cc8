"""`gateway members import FILE.csv | find QUERY | erase NUMBER`."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

from gateway.domain.errors import GatewayError
from gateway.runtime import request_session, runtime
from gateway.services.issue.card_admin import card_by_number
from gateway.services.issue.member_import import import_rows, read_rows
from gateway.services.issue.programs import find_program
from gateway.services.operate.member_erasure import erase_member
from gateway.services.operate.members import program_by_slug, search_members

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


@members_group.command("find")
@click.argument("query")
@click.option("--program", default="demo", show_default=True, help="Program slug.")
def find_command(query: str, program: str) -> None:
    """Find members by e-mail, phone (+country code), card number or legacy number."""
    session = request_session()
    try:
        hits = search_members(session, program_by_slug(session, program), query)
    except GatewayError as error:
        raise click.ClickException(error.message) from None
    if not hits:
        click.echo("no member found")
        return
    for hit in hits:
        state = "closed" if hit.closed else hit.card_status
        contact = hit.email or hit.phone or "-"
        name = hit.name or "-"
        click.echo(f"{hit.card_number}\t{name}\t{contact}\t{hit.tier}\t{hit.balance}\t{state}")


@members_group.command("erase")
@click.argument("number")
@click.option("--program", default="demo", show_default=True, help="Program slug.")
@click.option("--yes", is_flag=True, help="Confirm: this cannot be undone.")
def erase_command(number: str, program: str, yes: bool) -> None:
    """Close the membership of card NUMBER and erase the member's personal data."""
    if not yes:
        raise click.ClickException(
            "erasing cannot be undone: run again with --yes to close the membership"
        )
    session = request_session()
    try:
        card = card_by_number(session, number, program)
        result = erase_member(session, runtime(), card, actor="cli")
    except GatewayError as error:
        raise click.ClickException(error.message) from None
    if result.already:
        click.echo(f"card {number}: membership was already closed; nothing to do")
    else:
        click.echo(f"card {number}: membership closed, personal data erased, card revoked")
