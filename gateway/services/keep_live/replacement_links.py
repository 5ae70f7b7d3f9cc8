"""A replaced card's new pass links, sent to the member's verified contact through the outbox.

The Apple download token is a bearer secret: the event carries it sealed with the key ring, and
the handler sends it only while it is still the pass's live link (not used, replaced or expired).
"""

from __future__ import annotations

import base64

from sqlalchemy.orm import Session

from gateway.models.base import utcnow
from gateway.models.card import Card, WalletPass
from gateway.models.member import Member
from gateway.models.outbox import OutboxEvent
from gateway.models.program import Program
from gateway.runtime import Runtime
from gateway.services.issue.issuance import hash_token
from gateway.services.keep_live.google_objects import save_signer
from gateway.services.keep_live.outbox import add_event, handles

KIND = "card.links.send"


def _purpose(serial: str) -> str:
    return f"pass:{serial}:download-link"


def queue_links(session: Session, rt: Runtime, apple_pass: WalletPass, token: str) -> str:
    """Write the event that sends the pass's download link (and the Google save link)."""
    sealed = rt.secret_box.seal(token.encode(), _purpose(apple_pass.serial))
    return add_event(
        session,
        KIND,
        {
            "card_id": apple_pass.card_id,
            "pass_id": apple_pass.id,
            "serial": apple_pass.serial,
            "sealed_token": base64.b64encode(sealed).decode("ascii"),
        },
    )


def contact_of(member: Member) -> tuple[str, str] | None:
    """(kind, contact) the member proved at enrollment: e-mail first, else phone."""
    if member.erased_at is not None:
        return None
    if member.email:
        return "email", member.email
    if member.phone:
        return "phone", member.phone
    return None


@handles(KIND)
def send_links(rt: Runtime, event: OutboxEvent) -> None:
    """Send the links unless they no longer work (the member then already has newer ones)."""
    with rt.sessions() as session:
        apple = session.get(WalletPass, int(event.payload["pass_id"]))
        if apple is None or apple.serial != event.payload["serial"]:
            return
        sealed = base64.b64decode(str(event.payload["sealed_token"]))
        token = rt.secret_box.open(sealed, _purpose(apple.serial)).decode()
        expires = apple.download_token_expires_at
        if apple.download_token_hash != hash_token(token) or expires is None or expires < utcnow():
            return
        card = session.get(Card, apple.card_id)
        member = session.get(Member, card.member_id) if card else None
        program = session.get(Program, card.program_id) if card else None
        google = next((p for p in card.passes if p.wallet == "google"), None) if card else None
        contact = contact_of(member) if member else None
        if program is None or contact is None or google is None or not google.google_object_id:
            return
        base = rt.settings.public_base_url.rstrip("/")
        apple_url = f"{base}/api/v1/passes/apple/{token}.pkpass"
        google_url = save_signer(rt).save_url(google.google_object_id, program.google_class_id)
        program_name = program.name
        session.commit()  # no transaction held open while the message goes out
    rt.notifier.send_card_links(contact[0], contact[1], program_name, apple_url, google_url)
