"""Create (or find) the member, account, card and wallet passes for a CRM record: idempotently."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gateway.adapters.crm import CrmMemberRecord
from gateway.models.base import utcnow
from gateway.models.card import Card, WalletPass
from gateway.models.ledger import LedgerEntry
from gateway.models.member import Account, Consent, Member
from gateway.models.program import Program
from gateway.secret_box import SecretBox
from passes.codes import is_valid_card_number, new_card_number, new_code_secret

WALLETS = ("apple", "google")


def code_secret_purpose(serial: str) -> str:
    """Associated data binding a code secret to its pass."""
    return f"pass:{serial}:code"


def auth_token_purpose(serial: str) -> str:
    """Associated data binding an Apple web-service token to its pass."""
    return f"pass:{serial}:apple-auth"


def hash_token(token: str) -> str:
    """SHA-256 hex of a high-entropy token (download links)."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class ContactFacts:
    """The contact the customer proved, and the consents they gave."""

    kind: str  # email | phone
    value: str
    name: str
    locale: str
    terms: bool
    marketing: bool
    channel: str
    text_version: str


def _card_number_for(
    session: Session, program: Program, crm: CrmMemberRecord
) -> tuple[str, str | None]:
    """Keep the CRM's number when it fits the rules and is free; else a new one (legacy kept)."""
    legacy = crm.card_number
    if legacy and is_valid_card_number(legacy):
        taken = session.scalar(
            select(Card.id).where(Card.program_id == program.id, Card.number == legacy)
        )
        if taken is None:
            return legacy, None
    while True:
        number = new_card_number()
        taken = session.scalar(
            select(Card.id).where(Card.program_id == program.id, Card.number == number)
        )
        if taken is None:
            return number, legacy


def _new_pass(box: SecretBox, card: Card, wallet: str, program: Program) -> WalletPass:
    serial = secrets.token_hex(16)
    wallet_pass = WalletPass(
        card=card,
        wallet=wallet,
        serial=serial,
        code_secret=box.seal(new_code_secret(), code_secret_purpose(serial)),
    )
    if wallet == "apple":
        wallet_pass.auth_token = box.seal(
            secrets.token_urlsafe(24).encode(), auth_token_purpose(serial)
        )
    else:
        wallet_pass.google_object_id = f"{program.google_issuer_id}.{serial}"
        wallet_pass.google_state = "queued"
    return wallet_pass


def _record_consents(session: Session, member: Member, facts: ContactFacts) -> None:
    for kind, granted in (("terms", facts.terms), ("marketing", facts.marketing)):
        session.add(
            Consent(
                member=member,
                kind=kind,
                granted=granted,
                channel=facts.channel,
                text_version=facts.text_version,
            )
        )


def _create_member(
    session: Session, box: SecretBox, program: Program, crm: CrmMemberRecord, facts: ContactFacts
) -> Member:
    member = Member(
        program_id=program.id,
        crm_id=crm.crm_id,
        email=facts.value if facts.kind == "email" else None,
        phone=facts.value if facts.kind == "phone" else None,
        name=facts.name or crm.name,
        locale=facts.locale,
        tier=crm.tier or (program.tiers[0].name if program.tiers else ""),
        discount_percent=crm.discount_percent,
    )
    session.add(member)
    account = Account(member=member, balance=crm.balance, lifetime_points=crm.balance)
    session.add(account)
    session.flush()
    if crm.balance > 0:
        # The CRM balance enters the ledger as one bucket, so ledger sum == balance from day one.
        session.add(
            LedgerEntry(
                account_id=account.id,
                kind="import",
                points=crm.balance,
                remaining=crm.balance,
                expires_at=utcnow() + timedelta(days=program.points_validity_days),
                actor="crm",
                reference=f"crm:{crm.crm_id}",
            )
        )
    number, legacy = _card_number_for(session, program, crm)
    card = Card(program_id=program.id, member_id=member.id, number=number, legacy_number=legacy)
    session.add(card)
    for wallet in WALLETS:
        session.add(_new_pass(box, card, wallet, program))
    return member


def find_member_by_crm_id(session: Session, program: Program, crm_id: str) -> Member | None:
    """The gateway member already linked to this CRM record, if any."""
    return session.scalar(
        select(Member).where(Member.program_id == program.id, Member.crm_id == crm_id)
    )


def ensure_member(
    session: Session, box: SecretBox, program: Program, crm: CrmMemberRecord, facts: ContactFacts
) -> tuple[Member, bool]:
    """The member for this CRM record with account, card and both passes; (member, created).

    Enrolling the same contact twice, even concurrently, yields the same member and cards:
    the unique (program, crm_id) index decides the race and the loser reads the winner's rows.
    """
    existing = find_member_by_crm_id(session, program, crm.crm_id)
    if existing is not None:
        _record_consents(session, existing, facts)
        return existing, False
    try:
        with session.begin_nested():
            member = _create_member(session, box, program, crm, facts)
            _record_consents(session, member, facts)
    except IntegrityError:
        winner = find_member_by_crm_id(session, program, crm.crm_id)
        if winner is None:
            raise
        _record_consents(session, winner, facts)
        return winner, False
    return member, True


def card_of(session: Session, member: Member) -> Card:
    """The member's card."""
    return session.scalars(select(Card).where(Card.member_id == member.id)).one()


def pass_of(card: Card, wallet: str) -> WalletPass:
    """The card's pass for one wallet."""
    return next(p for p in card.passes if p.wallet == wallet)
