"""Operators revoke, replace or unlock a card (a lost phone, a leaked pass file): audited.

The console, the admin API and the CLI all call these; each one commits.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.domain.errors import GatewayError, not_found
from gateway.models.base import utcnow
from gateway.models.card import Card, WalletPass
from gateway.models.member import Member
from gateway.models.program import Program
from gateway.runtime import Runtime
from gateway.services.issue.card_credentials import rotate_credentials
from gateway.services.issue.pass_links import CardLinks, announce_links, card_links
from gateway.services.keep_live.google_state import object_was_sent, queue_state
from gateway.services.keep_live.outbox import add_event
from gateway.services.keep_live.replacement_links import contact_of, queue_links
from gateway.services.operate.audit_trail import record_change


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


def member_closed() -> GatewayError:
    """409 `member_closed`: the membership was closed and its personal data erased."""
    return GatewayError(
        "member_closed",
        "This membership was closed and its personal data erased; the card cannot be used again.",
        409,
    )


def _owner(session: Session, card: Card) -> tuple[Member, Program]:
    member = session.get(Member, card.member_id)
    program = session.get(Program, card.program_id)
    if member is None or program is None:
        raise GatewayError("not_found", "the card has no member", 404)
    return member, program


def _google_objects(session: Session, card: Card) -> list[str]:
    """The object ids Google may hold for the card's Google pass."""
    passes = session.scalars(
        select(WalletPass).where(WalletPass.card_id == card.id, WalletPass.wallet == "google")
    )
    return [p.google_object_id for p in passes if object_was_sent(p) and p.google_object_id]


def revoke_in_transaction(
    session: Session, rt: Runtime, card: Card, actor: str, **details: object
) -> bool:
    """Revoke without committing (member erasure revokes as part of its own change); False when
    the card already was revoked (nothing is written)."""
    if card.status == "revoked":
        return False
    member, program = _owner(session, card)
    objects = _google_objects(session, card)
    card.status = "revoked"
    rotate_credentials(session, rt, card, new_google_object=False)
    for object_id in objects:
        queue_state(session, object_id, "INACTIVE", card_number=card.number)
    add_event(
        session,
        "card.revoked",
        {
            "program": program.slug,
            "crm_member_id": member.crm_id,
            "card_number": card.number,
            "at": utcnow().isoformat(),
        },
    )
    record_change(
        session,
        actor,
        "card.revoked",
        f"card:{card.number}",
        before={"status": "active"},
        after={"status": "revoked"},
        program_id=card.program_id,
        **details,
    )
    return True


def revoke_card(session: Session, rt: Runtime, card: Card, actor: str) -> bool:
    """Revoke the card: the till refuses it (`card_revoked`); its codes, Apple token and
    download link stop; the Google object turns INACTIVE; the CRM gets `card.revoked`.
    False when it already was revoked (idempotent: nothing changes).

    Commits.
    """
    revoked = revoke_in_transaction(session, rt, card, actor)
    session.commit()
    return revoked


def replace_card(session: Session, rt: Runtime, card: Card, actor: str) -> CardLinks:
    """New pass serials, code secrets and Apple token for the card (same member, number and
    balance; a revoked card becomes active again). Old copies, tokens and links are refused and
    the old Google object turns INACTIVE; the new links go to the member's verified contact and
    the CRM gets `card.linked` with the new serials. 409 `member_closed` after erasure.

    Commits.
    """
    member, program = _owner(session, card)
    if member.erased_at is not None:
        session.rollback()
        raise member_closed()
    was = card.status
    old_objects = _google_objects(session, card)
    card.status = "active"
    rotate_credentials(session, rt, card, new_apple_serial=True)
    for object_id in old_objects:
        queue_state(session, object_id, "INACTIVE", card_number=card.number)
    links = card_links(session, rt, program, member)
    announce_links(session, program, member, links, digitized_existing=True, replaced=True)
    apple = session.scalar(
        select(WalletPass).where(WalletPass.card_id == card.id, WalletPass.wallet == "apple")
    )
    contact = contact_of(member)
    if apple is not None and contact is not None:
        # The same live link the operator is shown (a pass has one download link at a time).
        queue_links(session, rt, apple, _download_token(links))
    record_change(
        session,
        actor,
        "card.replaced",
        f"card:{card.number}",
        before={"status": was},
        after={"status": "active"},
        program_id=card.program_id,
        was_status=was,
        links_sent_to=contact[0] if contact else None,
    )
    session.commit()
    return links


def _download_token(links: CardLinks) -> str:
    """The token inside the Apple download link just issued (`.../apple/<token>.pkpass`)."""
    return links.pkpass_url.rsplit("/", 1)[-1].removesuffix(".pkpass")


def unlock_card(session: Session, card: Card, actor: str, now: datetime | None = None) -> bool:
    """Lift the card's scan lock (too many wrong codes); False when it was not locked.

    The lock end moves to `now` rather than being cleared: the failures that caused the lock
    are counted only up to it, so they cannot lock the card again at once. Commits.
    """
    now = now or utcnow()
    until = card.locked_until
    if until is None or until <= now:
        session.commit()
        return False
    card.locked_until = now
    record_change(
        session,
        actor,
        "card.unlocked",
        f"card:{card.number}",
        before={"locked_until": until},
        after={"locked_until": None},
        program_id=card.program_id,
    )
    session.commit()
    return True
