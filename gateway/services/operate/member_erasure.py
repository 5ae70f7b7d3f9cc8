"""Close a membership and erase its personal data on the member's request.

What goes: e-mail, phone and name (on the member and on its enrollments), the consent link.
What stays: the member row (pseudonymous: ids, tier, locale), the card number, the ledger and its
sums, consent records (kind, decision, when, channel: no personal data) and the audit trail.
The card is revoked (both passes dead, the till answers `card_revoked`) and the CRM is told
(`member.closed`). Erasing twice changes nothing the second time.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import update
from sqlalchemy.orm import Session

from gateway.domain.errors import GatewayError
from gateway.models.base import utcnow
from gateway.models.card import Card
from gateway.models.enrollment import Enrollment
from gateway.models.member import Consent, Member
from gateway.models.program import Program
from gateway.runtime import Runtime
from gateway.services.issue.card_admin import revoke_in_transaction
from gateway.services.keep_live.outbox import add_event
from gateway.services.operate.audit_trail import record_change

# What an erased enrollment keeps in its non-null contact column.
ERASED = "erased"


@dataclass(frozen=True, slots=True)
class Erasure:
    """What an erasure did; `already` when the membership was closed before."""

    card_number: str
    already: bool
    card_revoked: bool


def erase_member(session: Session, rt: Runtime, card: Card, actor: str) -> Erasure:
    """Close the card's membership and pseudonymize the member. Commits."""
    member = session.get(Member, card.member_id, with_for_update=True)
    program = session.get(Program, card.program_id)
    if member is None or program is None:
        raise GatewayError("not_found", "the card has no member", 404)
    if member.erased_at is not None:
        session.commit()
        return Erasure(card.number, already=True, card_revoked=False)
    now = utcnow()
    revoked = revoke_in_transaction(session, rt, card, actor, reason="membership closed")
    before = {
        "email": "on file" if member.email else None,
        "phone": "on file" if member.phone else None,
        "name": "on file" if member.name else None,
        "closed": False,
    }
    # Open grants end with the membership; the records themselves stay as proof of consent.
    session.execute(
        update(Consent)
        .where(
            Consent.member_id == member.id,
            Consent.granted.is_(True),
            Consent.withdrawn_at.is_(None),
        )
        .values(withdrawn_at=now)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(Enrollment)
        .where(Enrollment.member_id == member.id)
        .values(contact=ERASED, name="")
        .execution_options(synchronize_session=False)
    )
    # Unfinished enrollments of the same contact end too. There is no index on the contact: a
    # rare, one-off scan is acceptable here, unlike in a search.
    contacts = [value for value in (member.email, member.phone) if value]
    if contacts:
        session.execute(
            update(Enrollment)
            .where(
                Enrollment.member_id.is_(None),
                Enrollment.program_id == program.id,
                Enrollment.contact.in_(contacts),
            )
            .values(contact=ERASED, name="", status="dead")
            .execution_options(synchronize_session=False)
        )
    member.email = None
    member.phone = None
    member.name = ""
    member.consent_token_hash = None
    member.erased_at = now
    add_event(
        session,
        "member.closed",
        {
            "program": program.slug,
            "crm_member_id": member.crm_id,
            "card_number": card.number,
            "at": now.isoformat(),
            "erase_personal_data": True,
        },
    )
    record_change(
        session,
        actor,
        "member.erased",
        f"member:{member.id}",
        before=before,
        after={"email": None, "phone": None, "name": None, "closed": True},
        card_number=card.number,
        card_revoked=revoked,
    )
    session.commit()
    return Erasure(card.number, already=False, card_revoked=revoked)
