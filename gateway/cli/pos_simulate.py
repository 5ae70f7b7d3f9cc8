"""`gateway pos simulate`: a till that drives identify -> redeem -> accrue against a running
gateway through the POS client SDK, printing each step and the balance."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal, InvalidOperation
from typing import Any

import click

from pos_adapter.client import (
    AccrualResult,
    Balance,
    Identification,
    Order,
    PosClient,
    PosError,
    RedemptionResult,
)


@click.group("pos")
def pos_group() -> None:
    """Till-side tools for POS protocol v1."""


def _money(_ctx: click.Context, _param: click.Parameter, value: str) -> Decimal:
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise click.BadParameter("must be an amount such as 12.50") from None
    if not amount.is_finite() or amount < 0:
        raise click.BadParameter("must be a non-negative amount")
    return amount


def _balance(balance: Balance) -> str:
    return f"{balance.points} points ({balance.held} held, {balance.available} available)"


def _show_identify(found: Identification) -> None:
    card, member = found.card, found.member
    click.echo(f"identify  card {card.number} ({card.wallet or '?'}, {card.status}) - "
               f"{member.display_name}, tier {member.tier or '-'}")
    click.echo(f"          balance {_balance(found.balance)}")
    click.echo(f"          checkout {found.checkout.token} until "
               f"{found.checkout.expires_at.isoformat()}")
    for reward in found.rewards:
        mark = "available" if reward.available else "not available"
        click.echo(f"          reward {reward.id}: {reward.name}, {reward.cost_points} points, "
                   f"{mark}")


def _show_redemption(step: str, result: RedemptionResult) -> None:
    redemption = result.redemption
    what = f"reward {redemption.reward.get('id')}" if redemption.reward else "points"
    percent = (redemption.discount or {}).get("percent")
    extra = f", discount {percent}%" if percent else ""
    click.echo(f"{step:<9} {redemption.id} {redemption.status}: {redemption.points} points "
               f"({what}{extra}) - balance {_balance(result.balance)}")


def _show_accrual(order: Order, result: AccrualResult) -> None:
    again = " (order already accrued)" if result.repeated else ""
    click.echo(f"accrue    order {order.id} total {order.total} {order.currency}: "
               f"+{result.accrual.points} points ({result.accrual.id}){again} - "
               f"balance {_balance(result.balance)}")


@pos_group.command("simulate")
@click.option("--url", default="http://127.0.0.1:5000", show_default=True,
              envvar="GATEWAY_POS_URL", help="Base URL of the running gateway.")
@click.option("--key", required=True, envvar="GATEWAY_TERMINAL_KEY",
              help="Terminal key (from `gateway terminals create`).")
@click.option("--scan", required=True, help="Scan payload: <card number>-<one-time code>.")
@click.option("--reward", "reward_id", default=None, help="Redeem this reward id.")
@click.option("--points", type=click.IntRange(min=1), default=None, help="Redeem this many points.")
@click.option("--hold", is_flag=True, help="Two-phase: hold the points, then capture them.")
@click.option("--order-total", default="12.50", show_default=True, callback=_money,
              help="Total of the simulated order.")
@click.option("--currency", default="EUR", show_default=True)
@click.option("--order-id", default=None, help="Order id (default: a new sim-... id).")
@click.option("--timeout", default=10.0, show_default=True, help="Seconds per HTTP attempt.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document instead.")
def simulate_command(
    url: str,
    key: str,
    scan: str,
    reward_id: str | None,
    points: int | None,
    hold: bool,
    order_total: Decimal,
    currency: str,
    order_id: str | None,
    timeout: float,
    as_json: bool,
) -> None:
    """Scan a pass, redeem (a reward or points, if asked), accrue a new order, show the balance."""
    if reward_id is not None and points is not None:
        raise click.UsageError("give --reward or --points, not both")
    order = Order(order_id or f"sim-{uuid.uuid4().hex[:12]}", order_total, currency.upper())
    report: dict[str, Any] = {"order_id": order.id}
    step = "identify"
    with PosClient(url, key, timeout=timeout) as pos:
        try:
            found = pos.identify(scan)
            report["identify"] = found.raw
            if not as_json:
                _show_identify(found)
            if reward_id is not None or points is not None:
                step = "redeem"
                redeemed = pos.redeem(found.checkout.token, reward_id=reward_id, points=points,
                                      order=order, capture=not hold)
                report["redeem"] = redeemed.raw
                if not as_json:
                    _show_redemption("redeem", redeemed)
                if hold:
                    step = "capture"
                    captured = pos.capture(redeemed.redemption.id)
                    report["capture"] = captured.raw
                    if not as_json:
                        _show_redemption("capture", captured)
            step = "accrue"
            accrued = pos.accrue(order, checkout=found.checkout.token)
            report["accrue"] = accrued.raw
            if not as_json:
                _show_accrual(order, accrued)
            step = "card"
            card = pos.card(found.card.number)
            report["card"] = card.raw
        except PosError as error:
            raise click.ClickException(
                f"{step} failed: {error.code} (HTTP {error.status}): {error.message}"
            ) from None
    if as_json:
        click.echo(json.dumps(report, indent=2, default=str))
    else:
        click.echo(f"balance   {_balance(card.balance)}")
