"""Checkouts: opened by an accepted code, bound to one terminal and card, short-lived."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.domain.errors import GatewayError
from gateway.models.card import Card
from gateway.models.pos import Checkout
from gateway.secret_box import SecretBox
from gateway.services.cardholder import Cardholder, cardholder_query, from_row
from gateway.services.terminals import TerminalContext

TOKEN_PREFIX = "co_"  # noqa: S105 - a prefix, not a secret


def token_hash(token: str) -> str:
    """SHA-256 hex of a checkout token: what the database keeps and looks up."""
    return hashlib.sha256(token.encode()).hexdigest()


def _purpose(hashed: str) -> str:
    return f"checkout:{hashed}"


def iso(moment: datetime) -> str:
    """UTC timestamp as ISO 8601 with a Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def checkout_expired() -> GatewayError:
    """The error of an unknown, foreign or expired checkout token."""
    return GatewayError(
        "checkout_expired", "the checkout has expired: scan the card again", 401
    )


def new_checkout_token(box: SecretBox) -> tuple[str, str, bytes]:
    """A fresh checkout token, its hash (what is looked up) and its sealed form (for a re-scan)."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(24)
    hashed = token_hash(token)
    return token, hashed, box.seal(token.encode(), _purpose(hashed))


def reopen_checkout(
    session: Session,
    box: SecretBox,
    terminal: TerminalContext,
    pass_id: int,
    step: int,
    now: datetime,
) -> tuple[str, datetime] | None:
    """The open checkout this code already opened at this terminal: (token, expires_at)."""
    row = session.execute(
        select(Checkout.token_hash, Checkout.token_sealed, Checkout.expires_at).where(
            Checkout.pass_id == pass_id,
            Checkout.code_step == step,
            Checkout.terminal_id == terminal.terminal_id,
            Checkout.expires_at > now,
        )
    ).first()
    if row is None:
        return None
    return box.open(row[1], _purpose(row[0])).decode(), row[2]


def live_checkout(
    session: Session, terminal: TerminalContext, token: str, now: datetime
) -> Cardholder:
    """The cardholder of an open checkout of this terminal; checkout_expired otherwise."""
    row = session.execute(
        cardholder_query()
        .join(Checkout, Checkout.card_id == Card.id)
        .where(
            Checkout.token_hash == token_hash(token),
            Checkout.terminal_id == terminal.terminal_id,
            Checkout.expires_at > now,
        )
    ).first()
    if row is None:
        raise checkout_expired()
    holder = from_row(row)
    if holder.card_status == "revoked":
        raise GatewayError("card_revoked", "this card has been revoked", 410)
    return holder
