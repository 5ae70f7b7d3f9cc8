"""The links a member gets for their card: Apple download URL and Google save URL."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from gateway.models.member import Member
from gateway.models.program import Program
from gateway.runtime import Runtime
from gateway.services.issue.issuance import card_of, new_download_token, pass_of
from gateway.services.keep_live.google_objects import save_signer
from gateway.services.keep_live.outbox import add_event


@dataclass(frozen=True, slots=True)
class CardLinks:
    """Everything the customer and the CRM are told about a digitized card."""

    card_number: str
    apple_serial: str
    pkpass_url: str
    google_object_id: str
    save_url: str
    google_state: str
    member_json: dict[str, Any]

    def passes_for_crm(self) -> list[dict[str, str]]:
        """The pass list of the card.linked event."""
        return [
            {"wallet": "apple", "serial": self.apple_serial, "url": self.pkpass_url},
            {"wallet": "google", "object_id": self.google_object_id, "url": self.save_url},
        ]


def card_links(session: Session, rt: Runtime, program: Program, member: Member) -> CardLinks:
    """Fresh links for the member's passes; queues the Google object insertion if still pending."""
    card = card_of(session, member)
    apple, google = pass_of(card, "apple"), pass_of(card, "google")
    token = new_download_token(apple)
    session.flush()
    if google.google_state == "queued":
        add_event(session, "google.object.upsert", {"pass_id": google.id})
    base = rt.settings.public_base_url.rstrip("/")
    assert google.google_object_id is not None
    account = member.account
    return CardLinks(
        card_number=card.number,
        apple_serial=apple.serial,
        pkpass_url=f"{base}/api/v1/passes/apple/{token}.pkpass",
        google_object_id=google.google_object_id,
        save_url=save_signer(rt).save_url(google.google_object_id, program.google_class_id),
        google_state=google.google_state or "queued",
        member_json={
            "id": member.id,
            "name": member.name,
            "display_name": member.display_name,
            "card_number": card.number,
            "tier": member.tier,
            "discount_percent": member.discount_percent,
            "balance": account.balance if account else 0,
        },
    )
