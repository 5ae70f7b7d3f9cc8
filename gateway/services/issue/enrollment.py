"""Enrollment: ask for a card, prove the contact, then digitize or create the CRM member."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.adapters.crm import CrmMemberRecord, NewMemberProfile
from gateway.domain.contact import (
    normalize_email,
    normalize_locale,
    normalize_name,
    normalize_phone,
)
from gateway.domain.errors import GatewayError, not_found, validation_error
from gateway.models.base import utcnow
from gateway.models.enrollment import Enrollment
from gateway.models.program import Program
from gateway.runtime import Runtime
from gateway.services.issue.card_credentials import rotate_credentials
from gateway.services.issue.consents import new_consents_token
from gateway.services.issue.issuance import ContactFacts, card_of, ensure_member
from gateway.services.issue.pass_links import announce_links, card_links
from gateway.services.keep_live.outbox import audit

# New enrollments per contact per hour (a pending one is resent instead, see `_resend`).
# Codes sent for one enrollment; past this a request answers its id without sending.
MAX_SENDS_PER_ENROLLMENT = 5


@dataclass(frozen=True, slots=True)
class EnrollmentStarted:
    """The 202 answer: no hint of whether the contact is already a member."""

    enrollment_id: str
    verify_via: str


def program_by_slug(session: Session, slug: object) -> Program:
    """The program, or 404 `unknown_program` naming the field."""
    if not isinstance(slug, str) or not slug:
        raise validation_error("program", "program is required")
    program = session.scalar(select(Program).where(Program.slug == slug))
    if program is None:
        raise GatewayError("unknown_program", f"no program {slug!r}", 404, field="program")
    return program


def code_hash(secret_key: str, enrollment_id: str, code: str) -> str:
    """HMAC-SHA256 of the code, bound to its enrollment (only this is stored)."""
    message = f"{enrollment_id}:{code}".encode()
    return hmac.new(secret_key.encode(), message, hashlib.sha256).hexdigest()


def _parse_contact(body: dict[str, Any]) -> tuple[str, str]:
    has_email, has_phone = body.get("email") is not None, body.get("phone") is not None
    if has_email == has_phone:
        raise validation_error("email", "give exactly one of email or phone")
    if has_email:
        return "email", normalize_email(body["email"])
    return "phone", normalize_phone(body["phone"])


def _parse_consents(body: dict[str, Any]) -> dict[str, bool]:
    consents = body.get("consents")
    if not isinstance(consents, dict) or consents.get("terms") is not True:
        raise validation_error("consents.terms", "accepting the terms is required for a card")
    marketing = consents.get("marketing", False)
    if not isinstance(marketing, bool):
        raise validation_error("consents.marketing", "marketing consent must be true or false")
    return {"terms": True, "marketing": marketing}


def _pending_for(session: Session, program: Program, contact: str) -> Enrollment | None:
    """The contact's live pending enrollment in the program, locked, if any."""
    return session.scalar(
        select(Enrollment)
        .where(
            Enrollment.program_id == program.id,
            Enrollment.contact == contact,
            Enrollment.status == "pending",
            Enrollment.expires_at > utcnow(),
        )
        .order_by(Enrollment.created_at.desc())
        .limit(1)
        .with_for_update()
    )


def _verify_via(kind: str) -> str:
    return "email" if kind == "email" else "sms"


def _resend(
    session: Session, rt: Runtime, enrollment: Enrollment, program: Program
) -> EnrollmentStarted:
    """A fresh code for the pending enrollment (its wrong-code count is kept).

    The details of the first request are kept: whoever asks again for this contact cannot change
    the consents or name the owner will confirm. Past MAX_SENDS_PER_ENROLLMENT nothing is sent,
    and the latest code the owner received still works.
    """
    started = EnrollmentStarted(enrollment.id, _verify_via(enrollment.contact_kind))
    if enrollment.sends >= MAX_SENDS_PER_ENROLLMENT:
        session.commit()
        return started
    rt.enrollment_limiter.admit_send(enrollment.contact_kind, enrollment.contact)
    previous = (enrollment.code_hash, enrollment.expires_at)
    code = f"{secrets.randbelow(10**6):06d}"
    enrollment.code_hash = code_hash(rt.settings.secret_key, enrollment.id, code)
    enrollment.expires_at = utcnow() + timedelta(seconds=rt.settings.enrollment_ttl_seconds)
    enrollment.sends += 1
    session.commit()
    try:
        rt.notifier.send_code(enrollment.contact_kind, enrollment.contact, code, program.name)
    except GatewayError:
        # Not sent: the code the owner already holds stays the valid one.
        again = session.get(Enrollment, started.enrollment_id, with_for_update=True)
        if again is not None and again.status == "pending":
            again.code_hash, again.expires_at = previous
        session.commit()
        raise
    return started


def start_enrollment(
    session: Session,
    rt: Runtime,
    body: dict[str, Any],
    channel: str = "api",
    address: str = "",
) -> EnrollmentStarted:
    """Validate, store a pending enrollment with a hashed code, and send the code.

    A contact with a pending enrollment gets that enrollment's code resent instead of a new
    enrollment, so requests made by someone else cannot use up the owner's limit. Requests are
    limited per client `address`, codes sent per contact (across programs and address variants)
    and SMS in all (`rate_limits`).
    """
    rt.enrollment_limiter.admit_request(address)
    program = program_by_slug(session, body.get("program"))
    kind, contact = _parse_contact(body)
    name = normalize_name(body.get("name"))
    locale = normalize_locale(body.get("locale"))
    consents = _parse_consents(body)
    pending = _pending_for(session, program, contact)
    if pending is not None:
        return _resend(session, rt, pending, program)
    rt.enrollment_limiter.admit_send(kind, contact)
    enrollment_id = f"enr_{secrets.token_urlsafe(18)}"
    code = f"{secrets.randbelow(10**6):06d}"
    session.add(
        Enrollment(
            id=enrollment_id,
            program_id=program.id,
            contact_kind=kind,
            contact=contact,
            name=name,
            locale=locale,
            consents=consents,
            channel=channel,
            code_hash=code_hash(rt.settings.secret_key, enrollment_id, code),
            expires_at=utcnow() + timedelta(seconds=rt.settings.enrollment_ttl_seconds),
        )
    )
    session.commit()
    try:
        rt.notifier.send_code(kind, contact, code, program.name)
    except GatewayError:
        enrollment = session.get(Enrollment, enrollment_id)
        if enrollment is not None:
            enrollment.status = "dead"
            session.commit()
        raise
    return EnrollmentStarted(enrollment_id, _verify_via(kind))


def _expired() -> GatewayError:
    return GatewayError(
        "enrollment_expired", "this enrollment has expired; please start again", 410
    )


def _check_code(
    session: Session, rt: Runtime, enrollment_id: str, code: object
) -> tuple[Enrollment, Program]:
    """Count the attempt and claim the enrollment on the right code.

    Whatever the state, a try is counted and the TTL applies; a verified enrollment answers
    410 `enrollment_used` (its code handed out links once and never does again).
    """
    enrollment = session.get(Enrollment, enrollment_id, with_for_update=True)
    if enrollment is None:
        raise not_found("enrollment")
    if enrollment.status == "verified":
        enrollment.attempts += 1
        session.commit()
        raise GatewayError(
            "enrollment_used", "this enrollment was already verified; please start again", 410
        )
    if enrollment.status == "dead" or enrollment.expires_at < utcnow():
        enrollment.status = "dead"
        session.commit()
        raise _expired()
    expected = enrollment.code_hash
    given = (
        code_hash(rt.settings.secret_key, enrollment.id, code)
        if isinstance(code, str)
        else ""
    )
    if not hmac.compare_digest(expected, given):
        enrollment.attempts += 1
        left = rt.settings.enrollment_max_attempts - enrollment.attempts
        if left <= 0:
            enrollment.status = "dead"
        session.commit()
        if left <= 0:
            raise GatewayError(
                "enrollment_expired", "too many wrong codes; please start again", 410
            )
        raise GatewayError(
            "invalid_code",
            "the verification code is not correct",
            422,
            field="code",
            details={"attempts_left": left},
        )
    program = session.get(Program, enrollment.program_id)
    assert program is not None
    # Claimed: a concurrent or later verify gets `enrollment_used`. Committed before talking to
    # the CRM, so no lock is held across a network call; a failure below gives the claim back.
    enrollment.status = "verified"
    session.commit()
    return enrollment, program


def _give_back(session: Session, enrollment_id: str) -> None:
    """The verification failed after the claim (CRM down...): the code stays valid."""
    session.rollback()
    enrollment = session.get(Enrollment, enrollment_id, with_for_update=True)
    if enrollment is not None and enrollment.status == "verified" and enrollment.member_id is None:
        enrollment.status = "pending"
    session.commit()


def _crm_record(
    rt: Runtime, program: Program, enrollment: Enrollment
) -> tuple[CrmMemberRecord, bool]:
    contact = {enrollment.contact_kind: enrollment.contact}
    found = rt.crm.find_member(program.slug, **contact)
    if found is not None:
        return found, True
    profile = NewMemberProfile(
        program=program.slug,
        email=contact.get("email"),
        phone=contact.get("phone"),
        name=enrollment.name,
        locale=enrollment.locale,
    )
    consents = {
        key: {
            "granted": value,
            "at": enrollment.created_at.isoformat(),
            "channel": enrollment.channel,
            "text_version": rt.settings.terms_version,
        }
        for key, value in enrollment.consents.items()
    }
    return rt.crm.create_member(profile, consents), False


def verify_enrollment(
    session: Session, rt: Runtime, enrollment_id: str, body: dict[str, Any]
) -> dict[str, Any]:
    """Check the code, look the contact up in the CRM, issue the passes, tell the CRM.

    Nothing here waits on Google, APNs or the CRM's webhooks: the worker delivers the outbox.
    """
    enrollment, program = _check_code(session, rt, enrollment_id, body.get("code"))
    try:
        return _issue(session, rt, enrollment, program)
    except BaseException:
        _give_back(session, enrollment_id)
        raise


def _issue(
    session: Session, rt: Runtime, enrollment: Enrollment, program: Program
) -> dict[str, Any]:
    crm_record, found = _crm_record(rt, program, enrollment)
    facts = ContactFacts(
        kind=enrollment.contact_kind,
        value=enrollment.contact,
        name=enrollment.name,
        locale=enrollment.locale,
        terms=bool(enrollment.consents.get("terms")),
        marketing=bool(enrollment.consents.get("marketing")),
        # Consents name where the customer read the text: the page is "web".
        channel="web" if enrollment.channel == "page" else enrollment.channel,
        text_version=rt.settings.terms_version,
    )
    member, created = ensure_member(session, rt.secret_box, program, crm_record, facts)
    if not created:
        # Enrolling again (a new phone, a leaked pass file): the old copies stop working.
        rotate_credentials(session, rt, card_of(session, member))
    links = card_links(session, rt, program, member)
    consents_token = new_consents_token(member)
    enrollment = session.get(Enrollment, enrollment.id, with_for_update=True) or enrollment
    enrollment.member_id = member.id
    # The outcome the reports count: an existing CRM card digitized, or a new member.
    enrollment.result = {"digitized_existing": found}
    announce_links(session, program, member, links, digitized_existing=found)
    audit(session, "customer", "card.linked", f"member:{member.id}", created=created)
    session.commit()
    return {
        "member": links.member_json,
        "digitized_existing": found,
        "apple": {"pkpass_url": links.pkpass_url},
        # "queued" until the worker has inserted the object (never inserted in this request).
        "google": {"save_url": links.save_url, "object_status": links.google_state},
        "consents_url": f"{rt.settings.public_base_url.rstrip('/')}/api/v1/consents/"
        + consents_token,
    }
