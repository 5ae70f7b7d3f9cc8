"""A card's pass credentials: short-lived download links, rotation, revocation and replacement.

Every copy of a pass carries bearer credentials (the Apple web-service token, the code secret
behind its one-time codes). Rotating them is what makes an old copy useless: the web service
answers 401 to the old token, the till refuses codes from the old secret, and the old download
link is gone. The secrets they replace are kept for RETIRED_CODE_SECRET_DAYS (sealed under their
own purpose) so the till can answer an old copy's code with `card_revoked` rather than treating
it as a guess at the card (see gateway.pos.identify).
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from gateway.models.apple_device import AppleRegistration
from gateway.models.base import utcnow
from gateway.models.card import Card, WalletPass
from gateway.models.program import Program
from gateway.models.retired_secret import RetiredCodeSecret
from gateway.runtime import Runtime
from gateway.services.issue.issuance import (
    auth_token_purpose,
    code_secret_purpose,
    hash_token,
)
from gateway.services.keep_live.apple_updates import next_update_time
from gateway.services.keep_live.outbox import add_event
from passes.codes import new_code_secret


def issue_download_link(rt: Runtime, wallet_pass: WalletPass) -> str:
    """A fresh download token for the pass, valid PASS_LINK_TTL_SECONDS; older links stop."""
    token = secrets.token_urlsafe(32)
    wallet_pass.download_token_hash = hash_token(token)
    wallet_pass.download_token_expires_at = utcnow() + timedelta(
        seconds=rt.settings.pass_link_ttl_seconds
    )
    return token


def end_download_link(wallet_pass: WalletPass) -> None:
    """The pass's download link stops working (installed, replaced or revoked)."""
    wallet_pass.download_token_hash = None
    wallet_pass.download_token_expires_at = None


def retired_secret_purpose(serial: str) -> str:
    """Associated data binding a retired code secret to the serial its pass had (distinct from
    the current secret's, so a retired ciphertext cannot be put back on a pass)."""
    return f"pass:{serial}:code:retired"


def _retire_secret(
    session: Session, rt: Runtime, wallet_pass: WalletPass, program: Program, now: datetime
) -> None:
    """Keep the pass's current code secret, with what its codes were made from."""
    box, serial = rt.secret_box, wallet_pass.serial
    secret = box.open(wallet_pass.code_secret, code_secret_purpose(serial))
    session.add(
        RetiredCodeSecret(
            card_id=wallet_pass.card_id,
            wallet=wallet_pass.wallet,
            serial=serial,
            sealed_secret=box.seal(secret, retired_secret_purpose(serial)),
            counter=wallet_pass.code_counter,
            totp_period=program.totp_period_seconds,
            totp_digits=program.totp_digits,
            retired_at=now,
        )
    )


def _rotate_apple(session: Session, rt: Runtime, wallet_pass: WalletPass, new_serial: bool) -> None:
    box, now = rt.secret_box, utcnow()
    if new_serial:
        # A replacement is a new pass for Wallet: the lost phone's copy (old serial) matches
        # nothing in the web service, and the new phone adds the new one.
        wallet_pass.serial = secrets.token_hex(16)
    serial = wallet_pass.serial
    wallet_pass.code_secret = box.seal(new_code_secret(), code_secret_purpose(serial))
    # The counter moves on rather than back: used (pass, counter) rows stay meaningful.
    wallet_pass.code_counter += 1
    wallet_pass.code_issued_at = now
    token = secrets.token_urlsafe(24).encode()
    wallet_pass.auth_token = box.seal(token, auth_token_purpose(serial))
    wallet_pass.update_tag += 1
    wallet_pass.updated_at = next_update_time(wallet_pass.updated_at, now)
    # Devices holding the old copy can no longer authenticate; stop pushing to them.
    session.execute(delete(AppleRegistration).where(AppleRegistration.pass_id == wallet_pass.id))
    end_download_link(wallet_pass)


def _rotate_google(
    session: Session, rt: Runtime, wallet_pass: WalletPass, program: Program, new_object: bool
) -> None:
    if not new_object:
        # Revocation: the existing object gets the new secret and turns INACTIVE (card status).
        if wallet_pass.google_state not in (None, "queued"):
            add_event(session, "google.object.upsert", {"pass_id": wallet_pass.id})
        serial = wallet_pass.serial
    else:
        # A Google object is shared by everyone who saved it, so credentials for the owner alone
        # need a new object: the old one keeps showing codes of a secret the till now refuses.
        serial = secrets.token_hex(16)
        wallet_pass.serial = serial
        wallet_pass.google_object_id = f"{program.google_issuer_id}.{serial}"
        wallet_pass.google_state = "queued"
    wallet_pass.code_secret = rt.secret_box.seal(new_code_secret(), code_secret_purpose(serial))
    wallet_pass.code_issued_at = utcnow()


def rotate_credentials(
    session: Session,
    rt: Runtime,
    card: Card,
    *,
    new_google_object: bool = True,
    new_apple_serial: bool = False,
) -> None:
    """New Apple token, new code secrets, a new Google object (unless `new_google_object` is
    False: a revocation keeps the object it turns inactive) and, with `new_apple_serial` (a
    replacement), a new Apple serial; old copies and download links are refused.

    Enrolling again keeps the Apple serial on purpose: the same phone re-adding its card gets
    the existing pass updated in Wallet rather than a second one beside it.

    Runs in the caller's transaction, with the card's passes locked; the old code secrets are
    kept as retired ones.
    """
    program = session.get(Program, card.program_id)
    assert program is not None
    passes = session.scalars(
        select(WalletPass)
        .where(WalletPass.card_id == card.id)
        .order_by(WalletPass.id)
        .with_for_update()
    ).all()
    now = utcnow()
    for wallet_pass in passes:
        _retire_secret(session, rt, wallet_pass, program, now)
        if wallet_pass.wallet == "apple":
            _rotate_apple(session, rt, wallet_pass, new_serial=new_apple_serial)
        else:
            _rotate_google(session, rt, wallet_pass, program, new_google_object)
    session.flush()


def purge_retired_secrets(session: Session, now: datetime, keep: timedelta) -> int:
    """Delete retired code secrets older than `keep` (their codes then count as wrong codes
    again); returns how many. Commits."""
    result = session.execute(
        delete(RetiredCodeSecret).where(RetiredCodeSecret.retired_at < now - keep)
    )
    session.commit()
    return int(getattr(result, "rowcount", 0))
