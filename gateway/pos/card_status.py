"""GET /pos/v1/cards/<number>: status, tier and balance of a card, without a code."""

from __future__ import annotations

from sqlalchemy.orm import Session

from gateway.models.base import utcnow
from gateway.pos import errors
from gateway.pos.cardholder import by_number
from gateway.pos.checkout import iso
from gateway.pos.holds import release_expired_holds_of
from gateway.pos.idempotency import PosAnswer, StoredAnswer, encode
from gateway.pos.terminals import TerminalContext
from gateway.runtime import Runtime
from passes.codes import is_valid_card_number


def read_card(rt: Runtime, terminal: TerminalContext, number: str) -> StoredAnswer:
    """The card's status in a unit of work of its own (expired holds are released first)."""
    with rt.sessions() as session:
        answer = card_status(session, terminal, number)
        session.commit()
    return StoredAnswer(answer.status, encode(answer))


def card_status(session: Session, terminal: TerminalContext, number: str) -> PosAnswer:
    """The card of the terminal's program: no personal data beyond display name and tier."""
    if not is_valid_card_number(number):
        raise errors.malformed_scan("not a valid card number")
    holder = by_number(session, terminal.program_id, number)
    if holder is None:
        raise errors.unknown_card()
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
