"""`gateway cards revoke|replace NUMBER --program SLUG`: a lost phone, a leaked pass file.

(`gateway cards unlock` lives with the other till commands in pos_admin.)"""

from __future__ import annotations

import click

from gateway.cli.pos_admin import cards_group
from gateway.domain.errors import GatewayError
from gateway.runtime import request_session, runtime
from gateway.services.issue.card_admin import card_by_number, replace_card, revoke_card


@cards_group.command("revoke")
@click.argument("number")
@click.option("--program", required=True, help="Program slug.")
def revoke_card_command(number: str, program: str) -> None:
    """Revoke a card: the till refuses it, its codes, pass token and download link stop."""
    session = request_session()
    try:
        card = card_by_number(session, number, program)
        revoked = revoke_card(session, runtime(), card, actor="cli")
    except GatewayError as error:
        raise click.ClickException(error.message) from None
    if revoked:
        click.echo(f"card {number} (program {program}) revoked")
    else:
        click.echo(f"card {number} (program {program}) was already revoked: nothing to do")


@cards_group.command("replace")
@click.argument("number")
@click.option("--program", required=True, help="Program slug.")
def replace_card_command(number: str, program: str) -> None:
    """New pass credentials for a card (old copies refused); prints the new links, which are
    also sent to the member's verified e-mail or phone."""
    session = request_session()
    try:
        card = card_by_number(session, number, program)
        links = replace_card(session, runtime(), card, actor="cli")
    except GatewayError as error:
        raise click.ClickException(error.message) from None
    click.echo(f"card {number} (program {program}) replaced; old passes and links refused")
    click.echo(f"Apple Wallet: {links.pkpass_url}")
    click.echo(f"Google Wallet: {links.save_url}")
