"""Test data through the real services: programs and members with their cards and passes."""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass

from flask import Flask

from gateway.adapters.crm import CrmMemberRecord
from gateway.models.program import Program
from gateway.runtime import runtime
from gateway.services.issue.demo import ensure_demo
from gateway.services.issue.issuance import (
    ContactFacts,
    card_of,
    code_secret_purpose,
    ensure_member,
    pass_of,
)
from passes.codes import format_scan, hotp_code, totp_code

_ids = itertools.count(1)


@dataclass
class EnrolledMember:
    """A member with both passes, and the raw code secrets a phone would hold."""

    member_id: int
    account_id: int
    card_number: str
    apple_secret: bytes
    google_secret: bytes
    apple_counter: int
    digits: int
    period: int

    def apple_scan(self, counter: int | None = None) -> str:
        """The scan payload an Apple pass shows at `counter` (default: the current one)."""
        value = self.apple_counter if counter is None else counter
        return format_scan(
            self.card_number, hotp_code(self.apple_secret, value, digits=self.digits)
        )

    def google_scan(self, at: float | None = None) -> str:
        """The scan payload a Google pass renders at time `at` (default: now)."""
        when = int(time.time() if at is None else at)
        code = totp_code(self.google_secret, when, period=self.period, digits=self.digits)
        return format_scan(self.card_number, code)


def demo_program(app: Flask) -> Program:
    """The demo program (tiers Bronze/Silver/Gold, rewards coffee 500, pastry 300, mug 1500)."""
    with app.app_context():
        rt = runtime(app)
        with rt.sessions() as session:
            program, _ = ensure_demo(session, rt)
            return program


def enroll_member(
    app: Flask,
    *,
    balance: int = 0,
    tier: str = "Bronze",
    discount_percent: int = 0,
    card_number: str | None = None,
    email: str | None = None,
) -> EnrolledMember:
    """A member of the demo program digitized from a CRM record with this balance."""
    program = demo_program(app)
    rt = runtime(app)
    n = next(_ids)
    crm = CrmMemberRecord(
        crm_id=f"test-{n}-{time.time_ns()}",
        email=email or f"member{n}-{time.time_ns()}@example.com",
        phone=None,
        name=f"Test Member{n}",
        card_number=card_number,
        balance=balance,
        tier=tier,
        discount_percent=discount_percent,
    )
    facts = ContactFacts("email", crm.email or "", crm.name, "en", True, False, "api", "t")
    with rt.sessions() as session:
        program = session.merge(program)
        member, _ = ensure_member(session, rt.secret_box, program, crm, facts)
        session.commit()
        card = card_of(session, member)
        apple, google = pass_of(card, "apple"), pass_of(card, "google")
        return EnrolledMember(
            member_id=member.id,
            account_id=member.account.id,
            card_number=card.number,
            apple_secret=rt.secret_box.open(apple.code_secret, code_secret_purpose(apple.serial)),
            google_secret=rt.secret_box.open(
                google.code_secret, code_secret_purpose(google.serial)
            ),
            apple_counter=apple.code_counter,
            digits=program.totp_digits,
            period=program.totp_period_seconds,
        )
