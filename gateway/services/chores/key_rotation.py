"""Re-encrypting every secret at rest under the key ring's primary key."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.models.card import WalletPass
from gateway.secret_box import SecretBox
from gateway.services.issue.issuance import auth_token_purpose, code_secret_purpose


def reencrypt_secrets(session: Session, box: SecretBox, batch_size: int = 500) -> int:
    """Re-seal pass secrets not sealed by the primary key; returns how many passes changed."""
    changed = 0
    last_id = 0
    while True:
        batch = list(
            session.scalars(
                select(WalletPass)
                .where(WalletPass.id > last_id)
                .order_by(WalletPass.id)
                .limit(batch_size)
            )
        )
        if not batch:
            return changed
        for wallet_pass in batch:
            last_id = wallet_pass.id
            touched = False
            if box.key_id(wallet_pass.code_secret) != box.primary_kid:
                purpose = code_secret_purpose(wallet_pass.serial)
                wallet_pass.code_secret = box.seal(
                    box.open(wallet_pass.code_secret, purpose), purpose
                )
                touched = True
            token = wallet_pass.auth_token
            if token is not None and box.key_id(token) != box.primary_kid:
                purpose = auth_token_purpose(wallet_pass.serial)
                wallet_pass.auth_token = box.seal(box.open(token, purpose), purpose)
                touched = True
            changed += touched
        session.commit()
