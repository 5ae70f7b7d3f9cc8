"""Checkout tokens: signed claims that only this key issues and that cannot be altered."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest

from gateway.domain.errors import GatewayError
from gateway.pos.checkout import (
    TOKEN_PREFIX,
    CheckoutClaim,
    CheckoutSigner,
    checkout_expiry,
    live_claim,
)

NOW = datetime(2026, 12, 2, 8, 0, 0, 123456, tzinfo=UTC)
CLAIM = CheckoutClaim(7, 1234, 99, 59_000_123, checkout_expiry(NOW, timedelta(minutes=5)))


def test_a_token_reads_back_as_its_claim_and_is_the_same_for_the_same_claim():
    signer = CheckoutSigner(b"k" * 32)
    token = signer.issue(CLAIM)
    assert token.startswith(TOKEN_PREFIX)
    assert signer.read(token) == CLAIM
    assert signer.issue(CLAIM) == token  # a re-scan rebuilds the same token
    other = CheckoutClaim(7, 1234, 99, 59_000_124, CLAIM.expires_at)
    assert signer.issue(other) != token


def test_expiry_is_whole_seconds_so_the_token_carries_it_exactly():
    assert CLAIM.expires_at == datetime(2026, 12, 2, 8, 5, 0, tzinfo=UTC)


@pytest.mark.parametrize("position", [3, 10, 40, -1])
def test_any_altered_character_is_refused(position):
    signer = CheckoutSigner(b"k" * 32)
    token = signer.issue(CLAIM)
    flipped = "A" if token[position] != "A" else "B"
    altered = token[:position] + flipped + token[position + 1 :] if position != -1 else (
        token[:-1] + flipped
    )
    assert signer.read(altered) is None


def test_tokens_of_another_key_or_shape_are_refused():
    token = CheckoutSigner(b"k" * 32).issue(CLAIM)
    assert CheckoutSigner(b"x" * 32).read(token) is None
    signer = CheckoutSigner(b"k" * 32)
    for bad in ["", "co_", "co_unknown", token[3:], "xx_" + token[3:], token + "A", token[:-1],
                "co_" + "!" * (len(token) - 3), "co_" + "é" * (len(token) - 3)]:
        assert signer.read(bad) is None, bad


def test_a_claim_with_another_version_byte_is_refused():
    signer = CheckoutSigner(b"k" * 32)
    raw = base64.urlsafe_b64decode(signer.issue(CLAIM)[3:] + "=" * 2)
    payload = bytes([2]) + raw[1:-16]
    # Even a correctly tagged payload of an unknown version is not read.
    tagged = payload + signer._tag(payload)
    forged = TOKEN_PREFIX + base64.urlsafe_b64encode(tagged).rstrip(b"=").decode()
    assert signer.read(forged) is None


def test_live_claim_wants_this_terminal_and_an_open_checkout():
    signer = CheckoutSigner(b"k" * 32)
    token = signer.issue(CLAIM)
    assert live_claim(signer, 7, token, NOW) == CLAIM
    for terminal, at in [(8, NOW), (7, CLAIM.expires_at), (7, CLAIM.expires_at + timedelta(1))]:
        with pytest.raises(GatewayError) as error:
            live_claim(signer, terminal, token, at)
        assert error.value.code == "checkout_expired"
