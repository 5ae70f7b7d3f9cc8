"""`gateway points adjust NUMBER POINTS --reason TEXT`: an operator's correction of a member's
points (exactly once per --request-id)."""

from __future__ import annotations

import click

from gateway.cli.pos_admin import points_group
from gateway.domain.errors import GatewayError
from gateway.runtime import request_session
from gateway.services.issue.card_admin import card_by_number
from gateway.services.operate.field_errors import FieldErrors
from gateway.services.operate.point_adjustments import adjust_points, new_request_id


# Unknown "options" are taken as arguments, so `adjust NUMBER -100` takes points away.
@points_group.command("adjust", context_settings={"ignore_unknown_options": True})
@click.argument("number")
@click.argument("points", type=int)
@click.option("--reason", required=True, help="Why the points change (at most 200 characters).")
@click.option("--program", default="demo", show_default=True, help="Program slug.")
@click.option(
    "--request-id",
    default=None,
    help="Makes a retry safe: the same id is applied once (default: a new random id).",
)
def adjust_command(
    number: str, points: int, reason: str, program: str, request_id: str | None
) -> None:
    """Add POINTS (or take them away with a negative number) on card NUMBER."""
    rid = request_id or new_request_id()
    session = request_session()
    try:
        card = card_by_number(session, number, program)
        result = adjust_points(session, card, points, reason, rid, actor="cli")
    except FieldErrors as errors:
        raise click.ClickException("; ".join(errors.fields.values())) from None
    except GatewayError as error:
        raise click.ClickException(error.message) from None
    if result.repeated:
        click.echo(f"request {rid} was already applied: nothing changed")
    else:
        click.echo(f"card {number}: {result.points:+d} points ({result.reason})")
    click.echo(f"balance {result.balance} (held {result.held}); request id {rid}")
