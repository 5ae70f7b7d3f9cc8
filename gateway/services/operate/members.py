"""Support staff find a member and see everything about their card on one page.

Every search is an equality lookup on an index: members (program_id, email) and (program_id,
phone), cards (program_id, number) and cards.legacy_number. Nothing here scans a table.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from gateway.domain.contact import normalize_email, normalize_phone
from gateway.domain.errors import GatewayError, not_found
from gateway.models.apple_device import AppleRegistration
from gateway.models.card import Card, WalletPass
from gateway.models.ledger import LedgerEntry
from gateway.models.member import Account, Consent, Member
from gateway.models.outbox import AuditEvent
from gateway.models.pos import UsedCode
from gateway.models.program import Program, Tier
from gateway.services.operate.field_errors import FieldErrors

SEARCH_LIMIT = 20
LEDGER_PAGE = 25
AUDIT_LIMIT = 50
MAX_QUERY = 254


@dataclass(frozen=True, slots=True)
class MemberHit:
    """One search result: enough to pick the right member."""

    member_id: int
    card_number: str
    name: str
    email: str | None
    phone: str | None
    tier: str
    balance: int
    card_status: str
    closed: bool
    matched_by: str

    def as_json(self) -> dict[str, Any]:
        """The admin API form."""
        return {
            "member_id": self.member_id,
            "card_number": self.card_number,
            "name": self.name,
            "email": self.email,
            "phone": self.phone,
            "tier": self.tier,
            "balance": self.balance,
            "card_status": self.card_status,
            "closed": self.closed,
            "matched_by": self.matched_by,
        }


def program_by_slug(session: Session, slug: str) -> Program:
    """The program, or 404 `not_found`."""
    program = session.scalar(select(Program).where(Program.slug == slug))
    if program is None:
        raise not_found(f"program {slug!r}")
    return program


def list_programs(session: Session) -> list[Program]:
    """Every program by name (the search page's program picker)."""
    programs = list(session.scalars(select(Program).order_by(Program.name)))
    session.commit()
    return programs


def _hit_query(program_id: int) -> Any:
    return (
        select(
            Member.id,
            Card.number,
            Member.name,
            Member.email,
            Member.phone,
            Member.tier,
            Account.balance,
            Card.status,
            Member.erased_at,
        )
        .select_from(Member)
        .join(Card, Card.member_id == Member.id)
        .join(Account, Account.member_id == Member.id)
        .where(Member.program_id == program_id)
    )


def search_conditions(program_id: int, query: str) -> list[tuple[str, Any]]:
    """(kind, WHERE clause) of each lookup the query can mean; each one is served by an index.

    An e-mail address is looked up only as one, an international phone number (+country code)
    only as a phone; anything else as a legacy number and, when it is all digits (spaces
    allowed), as a card number too (card numbers are digits only).
    """
    text = query.strip()
    if "@" in text:
        try:
            email = normalize_email(text)
        except GatewayError:
            raise FieldErrors({"q": "This is not a valid e-mail address."}) from None
        return [("email", and_(Member.program_id == program_id, Member.email == email))]
    compact = "".join(text.split())
    if compact.startswith("+"):
        try:
            phone = normalize_phone(text)
        except GatewayError:
            raise FieldErrors(
                {"q": "A phone number needs its country code and digits, like +34 600 123 456."}
            ) from None
        return [("phone", and_(Member.program_id == program_id, Member.phone == phone))]
    kinds: list[tuple[str, Any]] = []
    if compact.isascii() and compact.isdigit():
        kinds.append(("card_number", and_(Card.program_id == program_id, Card.number == compact)))
    kinds.append(("legacy_number", and_(Card.program_id == program_id, Card.legacy_number == text)))
    return kinds


def check_query(query: str) -> None:
    """422 `validation_error` (field `q`) for an empty or overlong query."""
    if not query.strip():
        raise FieldErrors({"q": "Type an e-mail, a phone number (+country code) or a card number."})
    if len(query) > MAX_QUERY:
        raise FieldErrors({"q": f"Search for at most {MAX_QUERY} characters."})


def search_statements(program_id: int, query: str) -> list[tuple[str, Any]]:
    """(kind, SELECT) of each lookup `search_members` runs for the query (benchmarks and tests
    EXPLAIN exactly these)."""
    check_query(query)
    return [
        (kind, _hit_query(program_id).where(condition).limit(SEARCH_LIMIT))
        for kind, condition in search_conditions(program_id, query)
    ]


def search_members(session: Session, program: Program, query: str) -> list[MemberHit]:
    """Members of the program matching an e-mail, phone (+country code), card or legacy number.

    422 `validation_error` (field `q`) for an empty or overlong query or a malformed e-mail.
    """
    hits: dict[int, MemberHit] = {}
    for kind, statement in search_statements(program.id, query):
        for row in session.execute(statement):
            if row[0] in hits:
                continue
            hits[row[0]] = MemberHit(
                member_id=row[0],
                card_number=row[1],
                name=row[2],
                email=row[3],
                phone=row[4],
                tier=row[5],
                balance=row[6],
                card_status=row[7],
                closed=row[8] is not None,
                matched_by=kind,
            )
    session.commit()
    return list(hits.values())[:SEARCH_LIMIT]


# --- the member page ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PassView:
    """One wallet pass as support sees it."""

    wallet: str
    serial: str
    state: str
    apple_devices: int
    last_used_at: datetime | None
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class LedgerRow:
    """One movement of points."""

    id: int
    at: datetime
    kind: str
    points: int
    held_change: int
    actor: str
    order_id: str | None
    reference: str | None
    note: str


@dataclass(frozen=True, slots=True)
class LedgerPage:
    """Newest first; `next_before` continues after the last row (None: no older rows)."""

    rows: list[LedgerRow]
    next_before: int | None


@dataclass(frozen=True, slots=True)
class ConsentView:
    """One consent record (no personal data in it)."""

    kind: str
    granted: bool
    channel: str
    text_version: str
    recorded_at: datetime
    withdrawn_at: datetime | None


@dataclass(frozen=True, slots=True)
class AuditRow:
    """One audit row about the member, the card or the points account."""

    at: datetime
    actor: str
    action: str
    subject: str
    details: dict[str, Any]


@dataclass(frozen=True, slots=True)
class MemberView:
    """Everything support sees about a member and their card."""

    program_slug: str
    program_name: str
    points_label: str
    member_id: int
    crm_id: str
    name: str
    email: str | None
    phone: str | None
    locale: str
    tier: str
    discount_percent: Decimal
    balance: int
    held: int
    lifetime_points: int
    card_number: str
    legacy_number: str | None
    card_status: str
    locked_until: datetime | None
    joined_at: datetime
    closed_at: datetime | None
    passes: list[PassView]
    consents: list[ConsentView]
    ledger: LedgerPage
    audit: list[AuditRow]

    @property
    def available(self) -> int:
        """Points that can be spent now (held points are promised to a pending redemption)."""
        return self.balance - self.held

    def is_locked(self, now: datetime) -> bool:
        """Whether the card's scan lock is live at `now`."""
        return self.locked_until is not None and self.locked_until > now

    def as_json(self) -> dict[str, Any]:
        """The admin API form."""

        def when(value: datetime | None) -> str | None:
            return value.isoformat() if value is not None else None

        return {
            "program": self.program_slug,
            "member": {
                "id": self.member_id,
                "crm_id": self.crm_id,
                "name": self.name,
                "email": self.email,
                "phone": self.phone,
                "locale": self.locale,
                "tier": self.tier,
                "discount_percent": str(self.discount_percent),
                "joined_at": when(self.joined_at),
                "closed_at": when(self.closed_at),
            },
            "balance": {
                "points": self.balance,
                "held": self.held,
                "available": self.available,
                "lifetime": self.lifetime_points,
            },
            "card": {
                "number": self.card_number,
                "legacy_number": self.legacy_number,
                "status": self.card_status,
                "locked_until": when(self.locked_until),
            },
            "passes": [
                {
                    "wallet": p.wallet,
                    "serial": p.serial,
                    "state": p.state,
                    "apple_devices": p.apple_devices,
                    "last_used_at": when(p.last_used_at),
                    "updated_at": when(p.updated_at),
                }
                for p in self.passes
            ],
            "consents": [
                {
                    "kind": c.kind,
                    "granted": c.granted,
                    "channel": c.channel,
                    "text_version": c.text_version,
                    "recorded_at": when(c.recorded_at),
                    "withdrawn_at": when(c.withdrawn_at),
                }
                for c in self.consents
            ],
            "ledger": {
                "entries": [
                    {
                        "id": r.id,
                        "at": when(r.at),
                        "kind": r.kind,
                        "points": r.points,
                        "held_change": r.held_change,
                        "actor": r.actor,
                        "order_id": r.order_id,
                        "reference": r.reference,
                        "note": r.note,
                    }
                    for r in self.ledger.rows
                ],
                "next_before": self.ledger.next_before,
            },
            "audit": [
                {
                    "at": when(a.at),
                    "actor": a.actor,
                    "action": a.action,
                    "subject": a.subject,
                    "details": a.details,
                }
                for a in self.audit
            ],
        }


def card_in_program(session: Session, program_slug: str, number: str) -> Card:
    """The card with this number (or legacy number) in the program; 404 `not_found` otherwise."""
    program = program_by_slug(session, program_slug)
    card = session.scalar(select(Card).where(Card.program_id == program.id, Card.number == number))
    if card is None:
        card = session.scalar(
            select(Card).where(Card.program_id == program.id, Card.legacy_number == number)
        )
    if card is None:
        raise not_found(f"card {number!r} in program {program_slug!r}")
    return card


def _pass_views(session: Session, card: Card) -> list[PassView]:
    views = []
    for wallet_pass in session.scalars(
        select(WalletPass).where(WalletPass.card_id == card.id).order_by(WalletPass.id)
    ):
        devices = session.scalar(
            select(func.count())
            .select_from(AppleRegistration)
            .where(AppleRegistration.pass_id == wallet_pass.id)
        )
        last_used = session.scalar(
            select(func.max(UsedCode.used_at)).where(UsedCode.pass_id == wallet_pass.id)
        )
        if wallet_pass.wallet == "apple":
            state = "installed" if devices else "not installed"
        else:
            state = wallet_pass.google_state or "not saved"
        views.append(
            PassView(
                wallet=wallet_pass.wallet,
                serial=wallet_pass.serial,
                state=state,
                apple_devices=int(devices or 0),
                last_used_at=last_used,
                updated_at=wallet_pass.updated_at,
            )
        )
    return views


def _ledger_page(
    session: Session, account_id: int, before: int | None, notes: dict[str, str]
) -> LedgerPage:
    query = select(LedgerEntry).where(LedgerEntry.account_id == account_id)
    if before is not None:
        query = query.where(LedgerEntry.id < before)
    entries = list(session.scalars(query.order_by(LedgerEntry.id.desc()).limit(LEDGER_PAGE + 1)))
    more = len(entries) > LEDGER_PAGE
    entries = entries[:LEDGER_PAGE]
    rows = [
        LedgerRow(
            id=e.id,
            at=e.created_at,
            kind=e.kind,
            points=e.points,
            held_change=e.held_change,
            actor=e.actor,
            order_id=e.order_id,
            reference=e.reference,
            note=notes.get(e.reference or "", ""),
        )
        for e in entries
    ]
    return LedgerPage(rows, entries[-1].id if more and entries else None)


def audit_subjects(member_id: int, card_number: str, account_id: int) -> list[str]:
    """The audit subjects that are about this member: the member, the card, the account."""
    return [f"member:{member_id}", f"card:{card_number}", f"account:{account_id}"]


def member_view(session: Session, card: Card, *, before: int | None = None) -> MemberView:
    """The member page of a card: contact, balance, passes, consents, ledger page, audit trail."""
    member = session.get(Member, card.member_id)
    program = session.get(Program, card.program_id)
    if member is None or program is None or member.account is None:
        raise not_found("member")
    account: Account = member.account
    tier_discount = session.scalar(
        select(Tier.discount_percent).where(Tier.program_id == program.id, Tier.name == member.tier)
    )
    audit_rows = list(
        session.scalars(
            select(AuditEvent)
            .where(AuditEvent.subject.in_(audit_subjects(member.id, card.number, account.id)))
            .order_by(AuditEvent.id.desc())
            .limit(AUDIT_LIMIT)
        )
    )
    # The reasons operators gave for adjustments, shown next to their ledger rows.
    notes = {
        str(row.details.get("reference")): str(row.details.get("reason", ""))
        for row in session.scalars(
            select(AuditEvent).where(
                AuditEvent.subject == f"card:{card.number}",
                AuditEvent.action == "points.adjusted",
            )
        )
    }
    consents = [
        ConsentView(c.kind, c.granted, c.channel, c.text_version, c.recorded_at, c.withdrawn_at)
        for c in session.scalars(
            select(Consent).where(Consent.member_id == member.id).order_by(Consent.id.desc())
        )
    ]
    view = MemberView(
        program_slug=program.slug,
        program_name=program.name,
        points_label=program.points_label,
        member_id=member.id,
        crm_id=member.crm_id,
        name=member.name,
        email=member.email,
        phone=member.phone,
        locale=member.locale,
        tier=member.tier,
        discount_percent=max(Decimal(member.discount_percent), tier_discount or Decimal(0)),
        balance=account.balance,
        held=account.held,
        lifetime_points=account.lifetime_points,
        card_number=card.number,
        legacy_number=card.legacy_number,
        card_status=card.status,
        locked_until=card.locked_until,
        joined_at=member.created_at,
        closed_at=member.erased_at,
        passes=_pass_views(session, card),
        consents=consents,
        ledger=_ledger_page(session, account.id, before, notes),
        audit=[AuditRow(a.at, a.actor, a.action, a.subject, dict(a.details)) for a in audit_rows],
    )
    session.commit()
    return view
