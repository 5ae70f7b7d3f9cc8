"""GET /pos/v1/cards/<number>: status, tier and balance of a card, without a code."""

from __future__ import annotations

from sqlalchemy.orm import Session

from gateway.domain.errors import GatewayError
from gateway.models.base import utcnow
from gateway.services.cardholder import by_number
from gateway.services.checkout import iso
from gateway.services.holds import release_expired_holds_of
from gateway.services.idempotency import PosAnswer
from gateway.services.terminals import TerminalContext
from passes.codes import is_valid_card_number


def card_status(session: Session, terminal: TerminalContext, number: str) -> PosAnswer:
    """The card of the terminal's program: no personal data beyond display name and tier."""
    if not is_valid_card_number(number):
        raise GatewayError("malformed_scan", "not a valid card number", 400)
    holder = by_number(session, terminal.program_id, number)
    if holder is None:
        raise GatewayError("unknown_card", "no such card in this program", 404)
    now = utcnow()
    holder, _ = release_expired_holds_of(session, holder, now)
    locked = holder.locked_until is not None and holder.locked_until > now
    card: dict[str, object] = {"number": holder.card_number, "status": holder.card_status}
    card["locked_until"] = iso(holder.locked_until) if locked and holder.locked_until else None
    return PosAnswer(
        200,
        {
            "card": card,
            "member": {"display_name": holder.display_name, "tier": holder.tier},
            "balance": {"points": holder.balance, "held": holder.held},
        },
    )
