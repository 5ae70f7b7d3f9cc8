"""Google Wallet callbacks: a verified save/delete marks the pass and tells the CRM, once."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gateway.config import Settings
from gateway.domain.errors import GatewayError
from gateway.models.card import Card, WalletPass
from gateway.models.google_callback import GoogleCallbackNonce
from gateway.models.member import Member
from gateway.models.program import Program
from gateway.runtime import Runtime, available
from gateway.services.issue.card_credentials import end_download_link
from gateway.services.keep_live.outbox import add_event, audit
from passes.google.callbacks import CallbackRejected, RootKey, parse_root_keys, verify_callback

STATE_BY_EVENT = {"save": "saved", "del": "deleted"}
CRM_EVENT_BY_EVENT = {"save": "card.saved", "del": "card.unlinked"}


def load_root_keys(settings: Settings) -> list[RootKey] | None:
    """Google's root keys from the configured file, or None when none is configured."""
    if not settings.google_callback_root_keys:
        return None
    return parse_root_keys(json.loads(Path(settings.google_callback_root_keys).read_text()))


def root_keys(rt: Runtime) -> list[RootKey]:
    """The root keys of this runtime; 503 `callbacks_not_configured` without them."""
    keys = available(rt.google_root_keys)
    if keys is None:
        raise GatewayError(
            "callbacks_not_configured", "Google callback root keys are not configured", 503
        )
    return keys


def _issuer_of(body: dict[str, Any]) -> str:
    # Only to pick the recipient id the signature must cover; the verification decides.
    try:
        class_id = json.loads(str(body.get("signedMessage")))["classId"]
    except (ValueError, KeyError, TypeError):
        return ""
    return str(class_id).split(".", 1)[0]


def handle_callback(session: Session, rt: Runtime, body: dict[str, Any]) -> str:
    """Verify, dedupe on the nonce, record the pass state; returns what was done."""
    keys = root_keys(rt)
    try:
        message = verify_callback(body, keys, _issuer_of(body), int(time.time() * 1000))
    except CallbackRejected as exc:
        raise GatewayError("callback_rejected", exc.reason, 400) from None
    found = session.execute(
        select(WalletPass, Card, Member, Program)
        .join(Card, Card.id == WalletPass.card_id)
        .join(Member, Member.id == Card.member_id)
        .join(Program, Program.id == Card.program_id)
        .where(WalletPass.google_object_id == message.object_id)
    ).first()
    if found is None:
        session.rollback()
        return "unknown_object"
    wallet_pass, card, member, program = found
    # The signature covered the issuer id named in the message itself: only a callback for our
    # issuer and this pass's class may touch the pass (another issuer can sign any object id).
    if message.class_id != program.google_class_id or not message.object_id.startswith(
        f"{program.google_issuer_id}."
    ):
        session.rollback()
        raise GatewayError("callback_rejected", "callback for another issuer or class", 400)
    try:
        with session.begin_nested():
            session.add(
                GoogleCallbackNonce(
                    nonce=message.nonce,
                    object_id=message.object_id,
                    event_type=message.event_type,
                )
            )
    except IntegrityError:
        session.rollback()
        return "duplicate"
    wallet_pass.google_state = STATE_BY_EVENT[message.event_type]
    if message.event_type == "save":
        # The card is installed: the Apple download link handed out with it stops working.
        for other in card.passes:
            end_download_link(other)
    add_event(
        session,
        CRM_EVENT_BY_EVENT[message.event_type],
        {
            "program": program.slug,
            "crm_member_id": member.crm_id,
            "card_number": card.number,
            "wallet": "google",
            "object_id": message.object_id,
        },
    )
    audit(session, "google", f"google.{message.event_type}", f"pass:{wallet_pass.id}")
    session.commit()
    return STATE_BY_EVENT[message.event_type]
