"""Operators revoke or replace a card (a lost phone, a leaked pass file): audited."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.domain.errors import GatewayError, not_found
from gateway.models.card import Card
from gateway.models.member import Member
from gateway.models.program import Program
from gateway.runtime import Runtime
from gateway.services.issue.card_credentials import rotate_credentials
from gateway.services.issue.pass_links import CardLinks, announce_links, card_links
from gateway.services.keep_live.outbox import audit


def card_by_number(session: Session, number: str, program: str) -> Card:
    """The card with this number in the program, locked; 404 `not_found` otherwise."""
    card = session.scalar(
        select(Card)
        .join(Program, Program.id == Card.program_id)
        .where(Card.number == number, Program.slug == program)
        .with_for_update()
    )
    if card is None:
        raise not_found(f"card {number!r} in program {program!r}")
    return card


def revoke_card(session: Session, rt: Runtime, card: Card, actor: str) -> bool:
    """Revoke the card: the till refuses it (`card_revoked`); its codes, Apple token and
    download link stop; the Google object turns inactive. False when it already was revoked.

    Commits.
    """
    if card.status == "revoked":
        session.commit()
        return False
    card.status = "revoked"
    rotate_credentials(session, rt, card, new_google_object=False)
    audit(session, actor, "card.revoked", f"card:{card.number}", program_id=card.program_id)
    session.commit()
    return True


def replace_card(session: Session, rt: Runtime, card: Card, actor: str) -> CardLinks:
    """New pass credentials and links for the card (a revoked card becomes active again); old
    copies, tokens and links are refused; the CRM gets `card.linked` with the new serials.

    Commits.
    """
    member = session.get(Member, card.member_id)
    program = session.get(Program, card.program_id)
    if member is None or program is None:
        raise GatewayError("not_found", "the card has no member", 404)
    was = card.status
    card.status = "active"
    rotate_credentials(session, rt, card)
    links = card_links(session, rt, program, member)
    announce_links(session, program, member, links, digitized_existing=True, replaced=True)
    audit(
        session,
        actor,
        "card.replaced",
        f"card:{card.number}",
        program_id=card.program_id,
        was_status=was,
    )
    session.commit()
    return links
