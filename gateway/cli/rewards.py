"""`gateway rewards ...`: the catalogue and its kill switches."""

from __future__ import annotations

from typing import Any

import click
from flask.cli import AppGroup

from gateway.domain.errors import GatewayError
from gateway.models.program import Reward
from gateway.runtime import request_session
from gateway.services.operate import kill_switches, rewards
from gateway.services.operate.field_errors import FieldErrors

rewards_group = AppGroup("rewards", help="Rewards of a program.")

# Service field -> the option that sets it (so an error names what was typed).
OPTIONS = {
    "code": "--code",
    "name": "--name",
    "cost_points": "--cost",
    "stock": "--stock",
    "per_member_daily_limit": "--daily-limit",
    "min_tier": "--min-tier",
    "discount_percent": "--discount",
    "budget_points": "--budget",
}


def fail(error: GatewayError) -> click.ClickException:
    """The error as a one-line (or one line per field) message, exit status 1."""
    if isinstance(error, FieldErrors):
        lines = [f"{OPTIONS.get(name, name)}: {text}" for name, text in error.fields.items()]
        return click.ClickException("\n".join(lines))
    return click.ClickException(error.message)


def describe(reward: Reward) -> str:
    """One line per reward: code, cost, state, stock, limit, tier, budget."""
    view = rewards.reward_view(reward)
    state = "retired" if view["retired"] else ("on" if view["enabled"] else "OFF")
    parts = [view["code"], f"{view['cost_points']} pts", state, view["name"]]
    parts.append("stock " + ("unlimited" if view["stock"] is None else str(view["stock"])))
    if view["per_member_daily_limit"] is not None:
        parts.append(f"{view['per_member_daily_limit']}/day per member")
    if view["min_tier"]:
        parts.append(f"{view['min_tier']} and above")
    if view["discount_percent"] is not None:
        parts.append(f"{view['discount_percent']}% off")
    if view["budget_points"] is not None:
        parts.append(f"budget {view['spent_points']}/{view['budget_points']} pts spent")
    return "\t".join(parts)


_PROGRAM = click.option("--program", required=True, help="Program slug.")


@rewards_group.command("create")
@_PROGRAM
@click.option("--code", required=True, help="Public id tills send (lowercase, digits, -, _).")
@click.option("--name", required=True, help="What cashiers see.")
@click.option("--cost", required=True, type=int, help="Cost in points.")
@click.option("--stock", type=int, default=None, help="Units available (default: unlimited).")
@click.option("--daily-limit", type=int, default=None, help="Per member per day (default: none).")
@click.option("--min-tier", default=None, help="Lowest tier that may redeem it.")
@click.option("--discount", default=None, help="Discount percent the till applies (0-100).")
@click.option("--budget", type=int, default=None, help="Campaign budget in points.")
def create_command(
    program: str,
    code: str,
    name: str,
    cost: int,
    stock: int | None,
    daily_limit: int | None,
    min_tier: str | None,
    discount: str | None,
    budget: int | None,
) -> None:
    """Add a reward to a program's catalogue (switched on)."""
    data: dict[str, Any] = {
        "code": code,
        "name": name,
        "cost_points": cost,
        "stock": stock,
        "per_member_daily_limit": daily_limit,
        "min_tier": min_tier,
        "discount_percent": discount,
        "budget_points": budget,
    }
    try:
        reward = rewards.create_reward(request_session(), "cli", program, data)
    except GatewayError as error:
        raise fail(error) from None
    click.echo(f"reward {reward.code} created in program {program}")
    click.echo(describe(reward))


@rewards_group.command("list")
@_PROGRAM
def list_command(program: str) -> None:
    """List the program's rewards (retired ones last)."""
    session = request_session()
    try:
        found = rewards.find_program(session, program)
        items = rewards.list_rewards(session, program)
    except GatewayError as error:
        raise fail(error) from None
    if not found.redemptions_enabled:
        click.echo("redemptions are PAUSED for this program (gateway programs resume)")
    if not items:
        click.echo("no rewards yet")
    for reward in items:
        click.echo(describe(reward))


def _switch(program: str, code: str, enabled: bool) -> None:
    try:
        reward = kill_switches.set_reward_enabled(request_session(), "cli", program, code, enabled)
    except GatewayError as error:
        raise fail(error) from None
    click.echo(f"reward {reward.code} is {'on' if reward.enabled else 'off'}")


@rewards_group.command("disable")
@_PROGRAM
@click.argument("code")
def disable_command(program: str, code: str) -> None:
    """Kill switch: tills refuse the reward CODE from their next request."""
    _switch(program, code, False)


@rewards_group.command("enable")
@_PROGRAM
@click.argument("code")
def enable_command(program: str, code: str) -> None:
    """Switch the reward CODE back on."""
    _switch(program, code, True)


@rewards_group.command("retire")
@_PROGRAM
@click.argument("code")
def retire_command(program: str, code: str) -> None:
    """Retire the reward CODE: never offered again, kept for history."""
    try:
        reward = rewards.retire_reward(request_session(), "cli", program, code)
    except GatewayError as error:
        raise fail(error) from None
    click.echo(f"reward {reward.code} is retired")
