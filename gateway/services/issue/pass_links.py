"""The links a member gets for their card (Apple download URL, Google save URL), and what the
CRM is told about them: serials, ids and non-bearer references, never a link to the pass."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from gateway.models.member import Member
from gateway.models.program import Program
from gateway.runtime import Runtime
from gateway.services.issue.card_credentials import issue_download_link
from gateway.services.issue.issuance import card_of, pass_of
from gateway.services.keep_live.google_objects import save_signer
from gateway.services.keep_live.outbox import add_event

GOOGLE_API_DEFAULT = "https://walletobjects.googleapis.com/walletobjects/v1"


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
    # Non-bearer references for the CRM: the Apple web-service resource (needs the pass's
    # ApplePass token) and the Google Wallet API resource (needs the issuer's credentials).
    apple_ref: str
    google_ref: str

    def passes_for_crm(self) -> list[dict[str, str]]:
        """The pass list of the card.linked event (`url` is a reference, not a download link)."""
        return [
            {"wallet": "apple", "serial": self.apple_serial, "url": self.apple_ref},
            {"wallet": "google", "object_id": self.google_object_id, "url": self.google_ref},
        ]


def card_links(session: Session, rt: Runtime, program: Program, member: Member) -> CardLinks:
    """Fresh links for the member's passes; queues the Google object insertion if still pending."""
    card = card_of(session, member)
    apple, google = pass_of(card, "apple"), pass_of(card, "google")
    token = issue_download_link(rt, apple)
    session.flush()
    if google.google_state == "queued":
        add_event(session, "google.object.upsert", {"pass_id": google.id})
    base = rt.settings.public_base_url.rstrip("/")
    assert google.google_object_id is not None
    account = member.account
    google_api = (rt.settings.google_api_base_url or GOOGLE_API_DEFAULT).rstrip("/")
    pass_type_id = rt.credentials.apple_signer.pass_type_id
    return CardLinks(
        apple_ref=f"{base}/wallet/apple/v1/passes/{pass_type_id}/{apple.serial}",
        google_ref=f"{google_api}/loyaltyObject/{google.google_object_id}",
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


def announce_links(
    session: Session,
    program: Program,
    member: Member,
    links: CardLinks,
    *,
    digitized_existing: bool,
    **extra: object,
) -> None:
    """The `card.linked` outbox event for the CRM, in the caller's transaction."""
    add_event(
        session,
        "card.linked",
        {
            "program": program.slug,
            "crm_member_id": member.crm_id,
            "card_number": links.card_number,
            "passes": links.passes_for_crm(),
            "digitized_existing": digitized_existing,
            **extra,
        },
    )
