"""Outbox handlers that tell the CRM about cards, balances, consents and closed memberships."""

from __future__ import annotations

from gateway.models.outbox import OutboxEvent
from gateway.runtime import Runtime
from gateway.services.keep_live.outbox import handles


@handles("card.linked")
@handles("card.saved")
@handles("card.unlinked")
@handles("card.revoked")
@handles("member.closed")
@handles("consent.withdrawn")
@handles("balance.changed")
def tell_crm(rt: Runtime, event: OutboxEvent) -> None:
    """Deliver the event to the CRM; it dedupes on the event id."""
    rt.crm.deliver_event(event.event_id, event.kind, event.payload)
