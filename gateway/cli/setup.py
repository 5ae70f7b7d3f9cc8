"""`gateway init`, `gateway demo`, `gateway worker`."""

from __future__ import annotations

import time

import click
from flask.cli import with_appcontext

from gateway.migrate import upgrade_to_head
from gateway.runtime import request_session, runtime
from gateway.services.chores.worker import Worker
from gateway.services.issue.demo import DEMO_MEMBERS, ensure_demo


@click.command("init")
@with_appcontext
def init_command() -> None:
    """Create or upgrade the database schema."""
    upgrade_to_head(runtime().engine)
    click.echo(f"database ready: {runtime().engine.url.render_as_string(hide_password=True)}")


@click.command("demo")
@with_appcontext
def demo_command() -> None:
    """Create the demo program and CRM members (idempotent) and print what to try."""
    rt = runtime()
    upgrade_to_head(rt.engine)
    program, created = ensure_demo(request_session(), rt)
    base = rt.settings.public_base_url.rstrip("/")
    click.echo(("created" if created else "found") + f" demo program {program.slug!r}")
    if not rt.settings.google_api_base_url:
        click.echo(
            "Google Wallet API not configured: Google objects are queued for insertion "
            "(save links are signed and valid; set GATEWAY_GOOGLE_API_BASE_URL to deliver)."
        )
    click.echo(f"\n  Enroll page:  {base}/enroll/{program.slug}")
    click.echo(f"  Health:       {base}/healthz")
    click.echo(f"  Enroll:       POST {base}/api/v1/enrollments")
    click.echo(f"  POS API docs: {base}/pos/v1/docs")
    click.echo(
        f"  Cashier page: {base}/cashier  (a terminal key, from the checkout's folder: "
        ".venv/bin/gateway stores create MAIN && "
        ".venv/bin/gateway terminals create --store MAIN)"
    )
    click.echo(
        f"\nTry: enroll {DEMO_MEMBERS[0][0]} (an existing CRM member, digitized with their card "
        "and balance), then scan and redeem:\n"
        "  README.md, sections 'Walk-through (curl)' and 'Point of sale' (the commands run as "
        "pasted)."
    )


@click.command("worker")
@click.option("--once", is_flag=True, help="Deliver what is due and do the chores, then exit.")
@click.option("--interval", default=1.0, show_default=True, help="Seconds between polls.")
@click.option(
    "--chores-every",
    default=3600.0,
    show_default=True,
    help="Seconds between housekeeping runs (expiry, holds, stale codes, old keys).",
)
@with_appcontext
def worker_command(once: bool, interval: float, chores_every: float) -> None:
    """Deliver outbox events (APNs, Google, CRM webhooks) with retry, and do the chores."""
    worker = Worker(runtime(), chores_every)
    while True:
        delivered, done = worker.round()
        if done is not None and (once or any(done.values())):
            click.echo("housekeeping: " + ", ".join(f"{k} {v}" for k, v in done.items()))
        if once:
            click.echo(f"delivered {delivered} event(s)")
            return
        if not delivered:
            time.sleep(interval)
