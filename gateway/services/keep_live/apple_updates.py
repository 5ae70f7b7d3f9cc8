"""Outbox handler: a balance change makes the card's Apple pass "updated" for the web service."""

from __future__ import annotations

from datetime import datetime, timedelta

from gateway.models.base import utcnow
from gateway.models.outbox import OutboxEvent
from gateway.runtime import Runtime
from gateway.services.keep_live.outbox import handles
from gateway.services.keep_live.pass_lookup import pass_query


def next_update_time(previous: datetime, now: datetime) -> datetime:
    """A change time whose whole second is later than the previous one.

    Wallet sends back Last-Modified (whole seconds) as If-Modified-Since, so two changes in the
    same second would make the second one look unmodified.
    """
    floor = previous.replace(microsecond=0) + timedelta(seconds=1)
    return max(now, floor)


@handles("balance.changed")
def mark_apple_pass_updated(rt: Runtime, event: OutboxEvent) -> None:
    """Bump the pass's update tag so Wallet fetches it with the new balance and tier."""
    with rt.sessions() as session:
        wallet_pass = session.scalar(
            pass_query(
                event.payload["program"], event.payload["card_number"], "apple"
            ).with_for_update()
        )
        if wallet_pass is not None:
            wallet_pass.update_tag += 1
            wallet_pass.updated_at = next_update_time(wallet_pass.updated_at, utcnow())
        session.commit()
