"""Re-encrypting every secret at rest under the key ring's primary key: the passes' code secrets
and Apple tokens, retired code secrets of replaced passes, operators' TOTP secrets."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.models.card import WalletPass
from gateway.models.operator import Operator
from gateway.models.retired_secret import RetiredCodeSecret
from gateway.secret_box import SecretBox
from gateway.services.console.second_factor import secret_purpose
from gateway.services.issue.card_credentials import retired_secret_purpose
from gateway.services.issue.issuance import auth_token_purpose, code_secret_purpose

# (column, purpose of the row) for each sealed column of a model.
Sealed = list[tuple[str, Callable[[Any], str]]]

_SEALED: list[tuple[Any, Sealed]] = [
    (
        WalletPass,
        [
            ("code_secret", lambda row: code_secret_purpose(row.serial)),
            ("auth_token", lambda row: auth_token_purpose(row.serial)),
        ],
    ),
    (RetiredCodeSecret, [("sealed_secret", lambda row: retired_secret_purpose(row.serial))]),
    (
        Operator,
        [
            ("totp_secret", lambda row: secret_purpose(row.id)),
            ("totp_pending_secret", lambda row: secret_purpose(row.id)),
        ],
    ),
]


def _batches(session: Session, model: Any, batch_size: int) -> Iterator[list[Any]]:
    last_id = 0
    while True:
        batch = list(
            session.scalars(
                select(model).where(model.id > last_id).order_by(model.id).limit(batch_size)
            )
        )
        if not batch:
            return
        last_id = batch[-1].id
        yield batch


def reencrypt_secrets(session: Session, box: SecretBox, batch_size: int = 500) -> int:
    """Re-seal every secret not sealed by the primary key; returns how many rows changed."""
    changed = 0
    for model, columns in _SEALED:
        for batch in _batches(session, model, batch_size):
            for row in batch:
                touched = False
                for column, purpose_of in columns:
                    sealed = getattr(row, column)
                    if sealed is None or box.key_id(sealed) == box.primary_kid:
                        continue
                    purpose = purpose_of(row)
                    setattr(row, column, box.seal(box.open(sealed, purpose), purpose))
                    touched = True
                changed += touched
            session.commit()
    return changed
