"""Finding a card's pass from what an event carries: program slug, card number, wallet."""

from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from gateway.models.card import Card, WalletPass
from gateway.models.program import Program


def pass_query(program_slug: str, card_number: str, wallet: str) -> Select[WalletPass]:
    """The SELECT of the card's pass for one wallet (callers may add locking)."""
    return (
        select(WalletPass)
        .join(Card, Card.id == WalletPass.card_id)
        .join(Program, Program.id == Card.program_id)
        .where(
            Program.slug == program_slug,
            Card.number == card_number,
            WalletPass.wallet == wallet,
        )
    )


def pass_for_card(
    session: Session, program_slug: str, card_number: str, wallet: str
) -> WalletPass | None:
    """The card's pass for one wallet, if it exists."""
    return session.scalar(pass_query(program_slug, card_number, wallet))
