"""The OpenAPI document's example checkout token has the shape of a real one."""

from __future__ import annotations

from datetime import UTC, datetime

from gateway.pos.checkout import TOKEN_PREFIX, CheckoutClaim, CheckoutSigner
from pos_adapter.openapi import EXAMPLE_CHECKOUT


def test_example_checkout_token_looks_like_an_issued_one() -> None:
    claim = CheckoutClaim(terminal_id=7, card_id=1042, pass_id=1042, step=1,
                          expires_at=datetime(2026, 1, 15, 10, 5, tzinfo=UTC))
    real = CheckoutSigner(b"any key").issue(claim)
    assert EXAMPLE_CHECKOUT.startswith(TOKEN_PREFIX)
    assert len(EXAMPLE_CHECKOUT) == len(real)
    assert set(EXAMPLE_CHECKOUT[len(TOKEN_PREFIX):]) <= set(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    )
