"""Checkouts: opened by an accepted code, bound to one terminal and card, short-lived.

A checkout is a signed token, not a row: it names the terminal, the card, the pass and code step
that opened it and its expiry, under an HMAC-SHA256 tag keyed from the app's SECRET_KEY. Reading
it needs no database, nothing is stored per scan, and a re-scan of the same code at the same
terminal gets the same token back (it is rebuilt from the used code's row). Revoking a terminal
or a card still stops its checkouts: every use authenticates the terminal and reads the card.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import struct
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.models.card import Card
from gateway.models.pos import UsedCode
from gateway.pos.cardholder import Cardholder, cardholder_query, from_row
from gateway.pos.errors import card_revoked, checkout_expired
from gateway.pos.terminals import TerminalContext

TOKEN_PREFIX = "co_"  # noqa: S105 - a prefix, not a secret
_VERSION = 1
_LAYOUT = struct.Struct(">BQQQQQ")  # version, terminal, card, pass, code step, expiry (unix s)
_TAG_BYTES = 16
_ENCODED_LENGTH = len(TOKEN_PREFIX) + len(
    base64.urlsafe_b64encode(bytes(_LAYOUT.size + _TAG_BYTES)).rstrip(b"=")
)


def iso(moment: datetime) -> str:
    """UTC timestamp as ISO 8601 with a Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def checkout_expiry(opened_at: datetime, ttl: timedelta) -> datetime:
    """When a checkout opened at `opened_at` ends (whole seconds: the token carries seconds)."""
    return (opened_at + ttl).replace(microsecond=0)


@dataclass(frozen=True, slots=True)
class CheckoutClaim:
    """What a checkout token says."""

    terminal_id: int
    card_id: int
    pass_id: int
    step: int
    expires_at: datetime


class CheckoutSigner:
    """Issues and reads checkout tokens under one key."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def issue(self, claim: CheckoutClaim) -> str:
        """The token of a claim (the same claim always gives the same token)."""
        payload = _LAYOUT.pack(
            _VERSION,
            claim.terminal_id,
            claim.card_id,
            claim.pass_id,
            claim.step,
            int(claim.expires_at.timestamp()),
        )
        encoded = base64.urlsafe_b64encode(payload + self._tag(payload)).rstrip(b"=")
        return TOKEN_PREFIX + encoded.decode()

    def read(self, token: str) -> CheckoutClaim | None:
        """The claim of a token this key issued; None for anything else."""
        if len(token) != _ENCODED_LENGTH or not token.startswith(TOKEN_PREFIX):
            return None
        body = token[len(TOKEN_PREFIX) :]
        try:
            raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        except (binascii.Error, ValueError):
            return None
        payload, tag = raw[: _LAYOUT.size], raw[_LAYOUT.size :]
        if len(payload) != _LAYOUT.size or not hmac.compare_digest(tag, self._tag(payload)):
            return None
        version, terminal_id, card_id, pass_id, step, expires = _LAYOUT.unpack(payload)
        if version != _VERSION:
            return None
        return CheckoutClaim(
            terminal_id, card_id, pass_id, step, datetime.fromtimestamp(expires, UTC)
        )

    def _tag(self, payload: bytes) -> bytes:
        return hmac.new(self._key, payload, hashlib.sha256).digest()[:_TAG_BYTES]


def is_open(claim: CheckoutClaim | None, terminal_id: int, now: datetime) -> bool:
    """Whether a claim is a checkout of this terminal that has not ended."""
    return claim is not None and claim.terminal_id == terminal_id and claim.expires_at > now


def live_claim(
    signer: CheckoutSigner, terminal_id: int, token: str, now: datetime
) -> CheckoutClaim:
    """The claim of an open checkout of this terminal; checkout_expired otherwise."""
    claim = signer.read(token)
    if claim is None or not is_open(claim, terminal_id, now):
        raise checkout_expired()
    return claim


def reopen_checkout(
    session: Session,
    signer: CheckoutSigner,
    terminal: TerminalContext,
    card_id: int,
    pass_id: int,
    step: int,
    ttl: timedelta,
    now: datetime,
) -> tuple[str, datetime] | None:
    """The open checkout this code already opened at this terminal: (token, expires_at)."""
    row = session.execute(
        select(UsedCode.terminal_id, UsedCode.used_at).where(
            UsedCode.pass_id == pass_id, UsedCode.step == step
        )
    ).first()
    if row is None or row[0] != terminal.terminal_id:
        return None
    expires_at = checkout_expiry(row[1], ttl)
    if expires_at <= now:
        return None
    claim = CheckoutClaim(terminal.terminal_id, card_id, pass_id, step, expires_at)
    return signer.issue(claim), expires_at


def live_checkout(
    session: Session, signer: CheckoutSigner, terminal: TerminalContext, token: str, now: datetime
) -> Cardholder:
    """The cardholder of an open checkout of this terminal; checkout_expired otherwise."""
    claim = live_claim(signer, terminal.terminal_id, token, now)
    row = session.execute(cardholder_query().where(Card.id == claim.card_id)).first()
    if row is None:
        raise checkout_expired()
    holder = from_row(row)
    if holder.card_status == "revoked":
        raise card_revoked()
    return holder
