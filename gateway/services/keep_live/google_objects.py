"""Google Wallet: build the class and object from the database and push them to the REST API."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from gateway.config import Settings
from gateway.models.card import Card, WalletPass
from gateway.models.member import Member
from gateway.models.outbox import OutboxEvent
from gateway.models.program import Program
from gateway.runtime import Runtime
from gateway.services.issue.issuance import code_secret_purpose
from gateway.services.keep_live.outbox import handles
from gateway.services.keep_live.pass_lookup import pass_for_card
from passes.google.client import WalletApiUnavailable, WalletClient
from passes.google.objects import (
    LoyaltyClassContent,
    LoyaltyObjectContent,
    loyalty_class,
    loyalty_object,
    object_patch,
)
from passes.google.save_jwt import SaveJwtSigner


def build_save_signer(settings: Settings, service_account: Mapping[str, Any]) -> SaveJwtSigner:
    """The save-link signer (the key is parsed once, here)."""
    origins = [o for o in settings.google_save_origins.split(",") if o] or [
        settings.public_base_url.rstrip("/")
    ]
    return SaveJwtSigner(service_account, origins)


def build_wallet_client(
    settings: Settings, service_account: Mapping[str, Any]
) -> WalletClient | None:
    """The REST client, or None when no Google API is configured."""
    if not settings.google_api_base_url:
        return None
    return WalletClient(service_account, settings.google_api_base_url)


def save_signer(rt: Runtime) -> SaveJwtSigner:
    """The save-link signer of this runtime."""
    return rt.google_save_signer


def wallet_client(rt: Runtime) -> WalletClient:
    """The REST client, or WalletApiUnavailable when no Google API is configured."""
    if rt.google_wallet is None:
        raise WalletApiUnavailable("no Google Wallet API configured; object stays queued")
    return rt.google_wallet


def class_content(rt: Runtime, program: Program) -> LoyaltyClassContent:
    """The loyalty class of a program."""
    base = rt.settings.public_base_url.rstrip("/")
    return LoyaltyClassContent(
        class_id=program.google_class_id,
        issuer_name=program.organization,
        program_name=program.name,
        logo_url=f"{base}/api/v1/programs/{program.slug}/images/logo@3x.png",
        background_color=program.background_color,
        callback_url=f"{base}/wallet/google/callback",
    )


def object_content(session: Session, rt: Runtime, wallet_pass: WalletPass) -> LoyaltyObjectContent:
    """The loyalty object of a pass, with its decrypted TOTP secret."""
    card = session.get(Card, wallet_pass.card_id)
    assert card is not None
    member = session.get(Member, card.member_id)
    program = session.get(Program, card.program_id)
    assert member is not None and program is not None and wallet_pass.google_object_id
    secret = rt.secret_box.open(wallet_pass.code_secret, code_secret_purpose(wallet_pass.serial))
    return LoyaltyObjectContent(
        object_id=wallet_pass.google_object_id,
        class_id=program.google_class_id,
        state="ACTIVE" if card.status == "active" else "INACTIVE",
        card_number=card.number,
        member_name=member.name or member.display_name,
        points_label=program.points_label,
        balance=member.account.balance if member.account else 0,
        tier=member.tier,
        discount_percent=member.discount_percent,
        code_secret=secret,
        totp_period_seconds=program.totp_period_seconds,
        totp_digits=program.totp_digits,
    )


@handles("google.object.upsert")
def upsert_google_object(rt: Runtime, event: OutboxEvent) -> None:
    """Insert (or patch) the class and the object, then mark the pass inserted."""
    client = wallet_client(rt)
    with rt.sessions() as session:
        wallet_pass = session.get(WalletPass, int(event.payload["pass_id"]))
        if wallet_pass is None or wallet_pass.google_object_id is None:
            return
        card = session.get(Card, wallet_pass.card_id)
        program = session.get(Program, card.program_id) if card else None
        assert program is not None
        content = object_content(session, rt, wallet_pass)
        session.commit()  # no transaction held open across HTTP calls
        synced = rt.google_classes_synced
        if program.id not in synced:
            client.upsert_class(loyalty_class(class_content(rt, program)))
            synced.add(program.id)
        client.upsert_object(loyalty_object(content))
        if wallet_pass.google_state == "queued":
            wallet_pass.google_state = "inserted"
        session.commit()


@handles("balance.changed")
def patch_google_object(rt: Runtime, event: OutboxEvent) -> None:
    """Show the new balance and tier on the Google pass once its object exists.

    A queued object needs nothing: its insertion is built from the database when it happens.
    """
    if not rt.settings.google_api_base_url:
        return
    with rt.sessions() as session:
        wallet_pass = pass_for_card(
            session, event.payload["program"], event.payload["card_number"], "google"
        )
        if wallet_pass is None or wallet_pass.google_state in (None, "queued"):
            return
        content = object_content(session, rt, wallet_pass)
    assert wallet_pass.google_object_id is not None
    wallet_client(rt).patch_object(wallet_pass.google_object_id, object_patch(content))
