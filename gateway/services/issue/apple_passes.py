"""Apple Wallet: the signed .pkpass of a pass, built from the database with keys loaded once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gateway.domain.errors import GatewayError
from gateway.models.base import utcnow
from gateway.models.card import Card, WalletPass
from gateway.models.member import Member
from gateway.models.pos import UsedCode
from gateway.models.program import Program, ProgramImage
from gateway.runtime import Runtime
from gateway.services.issue.issuance import auth_token_purpose, code_secret_purpose, hash_token
from passes.apple.pass_json import StoreCardContent, store_card_pass_json
from passes.apple.pkpass import PassAssets, build_pkpass
from passes.codes import format_scan, hotp_code


@dataclass(frozen=True, slots=True)
class PkpassFile:
    """A built pass and what HTTP caching needs."""

    content: bytes
    serial: str
    last_modified: datetime


def program_assets(session: Session, rt: Runtime, program: Program) -> PassAssets:
    """The program's images with their hashes, cached until the image set changes."""
    count, last_id = session.execute(
        select(func.count(ProgramImage.id), func.max(ProgramImage.id)).where(
            ProgramImage.program_id == program.id
        )
    ).one()
    version = (int(count), last_id)
    cached = rt.apple_assets.get(program.id)
    if cached is not None and cached[0] == version:
        return cached[1]
    images = session.scalars(select(ProgramImage).where(ProgramImage.program_id == program.id))
    assets = PassAssets.from_files({image.name: image.content for image in images})
    rt.apple_assets[program.id] = (version, assets)
    return assets


def store_card_content(session: Session, rt: Runtime, wallet_pass: WalletPass) -> StoreCardContent:
    """pass.json content: live balance and tier, and the code for the pass's current counter."""
    card = session.get(Card, wallet_pass.card_id)
    assert card is not None
    member = session.get(Member, card.member_id)
    program = session.get(Program, card.program_id)
    assert member is not None and program is not None and wallet_pass.auth_token is not None
    box = rt.secret_box
    secret = box.open(wallet_pass.code_secret, code_secret_purpose(wallet_pass.serial))
    code = hotp_code(secret, wallet_pass.code_counter, digits=program.totp_digits)
    signer = rt.credentials.apple_signer
    return StoreCardContent(
        pass_type_id=signer.pass_type_id,
        team_id=signer.team_id,
        serial=wallet_pass.serial,
        organization=program.organization,
        description=f"{program.name} loyalty card",
        web_service_url=f"{rt.settings.public_base_url.rstrip('/')}/wallet/apple/",
        authentication_token=box.open(
            wallet_pass.auth_token, auth_token_purpose(wallet_pass.serial)
        ).decode(),
        card_number=card.number,
        barcode_message=format_scan(card.number, code),
        balance=member.account.balance if member.account else 0,
        points_label=program.points_label,
        tier=member.tier,
        member_name=member.name or member.display_name,
        discount_percent=member.discount_percent,
        background_color=program.background_color,
        foreground_color=program.foreground_color,
        label_color=program.label_color,
        terms=program.terms_text,
        support_url=program.support_url,
        # Its change is what makes Wallet show a lock-screen notice that the card was used.
        last_used=_last_used(session, wallet_pass),
    )


def _last_used(session: Session, wallet_pass: WalletPass) -> str:
    """When the pass's code was last accepted at a till (ISO 8601), or "" if never."""
    used_at = session.scalar(
        select(func.max(UsedCode.used_at)).where(UsedCode.pass_id == wallet_pass.id)
    )
    return used_at.isoformat() if used_at else ""


def build_pass_file(session: Session, rt: Runtime, wallet_pass: WalletPass) -> PkpassFile:
    """Sign the pass as it stands now."""
    card = session.get(Card, wallet_pass.card_id)
    program = session.get(Program, card.program_id) if card else None
    assert program is not None
    content = store_card_pass_json(store_card_content(session, rt, wallet_pass))
    data = build_pkpass(content, program_assets(session, rt, program), rt.credentials.apple_signer)
    return PkpassFile(data, wallet_pass.serial, wallet_pass.updated_at)


def pkpass_by_download_token(session: Session, rt: Runtime, token: str) -> PkpassFile:
    """The pass behind a download link: 404 `not_found` for an unknown, replaced or used link
    (it ends when the pass is installed), 410 `link_expired` past PASS_LINK_TTL_SECONDS."""
    wallet_pass = session.scalar(
        select(WalletPass).where(
            WalletPass.download_token_hash == hash_token(token), WalletPass.wallet == "apple"
        )
    )
    if wallet_pass is None:
        raise GatewayError("not_found", "this pass link is unknown or was replaced", 404)
    until = wallet_pass.download_token_expires_at
    if until is None or until <= utcnow():
        raise GatewayError(
            "link_expired", "this pass link has expired; enroll again for a new one", 410
        )
    return build_pass_file(session, rt, wallet_pass)
