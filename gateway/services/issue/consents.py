"""Consents after enrollment: read them, withdraw marketing, tell the CRM.

A member reaches their consents through a link handed out at enrollment (no account or password
needed). Its token is random and kept only as a hash on the member; each enrollment hands out a
new one, which revokes the previous link.
"""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.domain.errors import GatewayError, validation_error
from gateway.models.base import utcnow
from gateway.models.card import Card
from gateway.models.member import Consent, Member
from gateway.models.program import Program
from gateway.runtime import Runtime
from gateway.services.issue.issuance import hash_token
from gateway.services.keep_live.outbox import add_event, audit

WITHDRAWABLE = ("marketing",)


def new_consents_token(member: Member) -> str:
    """A fresh token for the member's consent link (caller commits); the previous link stops."""
    token = secrets.token_urlsafe(32)
    member.consent_token_hash = hash_token(token)
    return token


def _member(session: Session, rt: Runtime, token: str) -> Member:
    # An indexed lookup of a SHA-256 of a 256-bit random token: nothing to learn from timing.
    member = session.scalar(select(Member).where(Member.consent_token_hash == hash_token(token)))
    if member is None:
        raise GatewayError("not_found", "this consent link is not valid", 404)
    return member


def current_consents(session: Session, rt: Runtime, token: str) -> dict[str, Any]:
    """Each kind's latest decision: granted, when, channel, text version, withdrawn when."""
    member = _member(session, rt, token)
    latest: dict[str, Consent] = {}
    for consent in session.scalars(
        select(Consent).where(Consent.member_id == member.id).order_by(Consent.id)
    ):
        latest[consent.kind] = consent
    session.commit()
    return {
        kind: {
            "granted": consent.granted and consent.withdrawn_at is None,
            "recorded_at": consent.recorded_at.isoformat(),
            "channel": consent.channel,
            "text_version": consent.text_version,
            "withdrawn_at": consent.withdrawn_at.isoformat() if consent.withdrawn_at else None,
        }
        for kind, consent in latest.items()
    }


def withdraw(session: Session, rt: Runtime, token: str, kind: object) -> dict[str, Any]:
    """Withdraw a consent (marketing); the CRM is told through the outbox. Idempotent."""
    if kind not in WITHDRAWABLE:
        raise validation_error(
            "kind", "only marketing consent can be withdrawn here; to leave, close the card"
        )
    member = _member(session, rt, token)
    now = utcnow()
    open_grants = session.scalars(
        select(Consent).where(
            Consent.member_id == member.id,
            Consent.kind == kind,
            Consent.granted.is_(True),
            Consent.withdrawn_at.is_(None),
        )
    ).all()
    if open_grants:
        for consent in open_grants:
            consent.withdrawn_at = now
        session.add(
            Consent(
                member_id=member.id,
                kind=str(kind),
                granted=False,
                channel="web",
                text_version=rt.settings.terms_version,
                recorded_at=now,
            )
        )
        program = session.get(Program, member.program_id)
        card_number = session.scalar(select(Card.number).where(Card.member_id == member.id))
        add_event(
            session,
            "consent.withdrawn",
            {
                "program": program.slug if program else "",
                "crm_member_id": member.crm_id,
                "card_number": card_number,
                "kind": kind,
                "at": now.isoformat(),
            },
        )
        audit(session, "customer", "consent.withdrawn", f"member:{member.id}", kind=kind)
    session.commit()
    return current_consents(session, rt, token)
