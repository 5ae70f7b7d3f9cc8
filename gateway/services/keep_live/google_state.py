"""Google Wallet: turn a loyalty object ACTIVE or INACTIVE (a revoked or replaced card).

The event names the object id itself, not the pass: replacing a card gives its Google pass a new
object, and the old one (saved on the customer's lost phone) must still be switched off.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from gateway.models.card import WalletPass
from gateway.models.outbox import OutboxEvent
from gateway.runtime import Runtime
from gateway.services.keep_live.google_objects import wallet_client
from gateway.services.keep_live.outbox import add_event, handles
from passes.google.client import WalletApiError

KIND = "google.object.state"
STATES = ("ACTIVE", "INACTIVE")


def object_was_sent(wallet_pass: WalletPass) -> bool:
    """Whether Google may hold the pass's object (it was inserted, saved or deleted there)."""
    return wallet_pass.google_object_id is not None and wallet_pass.google_state not in (
        None,
        "queued",
    )


def queue_state(session: Session, object_id: str, state: str, **context: Any) -> str:
    """Write the event that sets the object's state, in the caller's transaction."""
    assert state in STATES
    return add_event(session, KIND, {"object_id": object_id, "state": state, **context})


@handles(KIND)
def set_object_state(rt: Runtime, event: OutboxEvent) -> None:
    """PATCH the object's `state`. Without a Google API no object was ever inserted: nothing to
    do; an object Google does not know (404) has nothing to switch off either."""
    if not rt.settings.google_api_base_url:
        return
    object_id = str(event.payload["object_id"])
    try:
        wallet_client(rt).patch_object(object_id, {"state": str(event.payload["state"])})
    except WalletApiError as error:
        if error.status != 404:
            raise
