"""Every error the POS core answers, each built in one place (codes as in pos-api.md)."""

from __future__ import annotations

from datetime import datetime

from gateway.domain.errors import GatewayError

MAX_KEY_LENGTH = 255


def _retry_after(until: datetime, now: datetime) -> dict[str, str]:
    return {"Retry-After": str(max(int((until - now).total_seconds()) + 1, 1))}


def unauthorized(message: str = "unknown or revoked terminal key") -> GatewayError:
    """401: a missing, unknown or revoked terminal key."""
    return GatewayError("unauthorized", message, 401, headers={"WWW-Authenticate": "Bearer"})


def malformed_scan(message: str = "the scan is not a loyalty card code") -> GatewayError:
    """400: the scan (or card number) is not one of ours."""
    return GatewayError("malformed_scan", message, 400)


def unknown_card() -> GatewayError:
    """404: no such card in the terminal's program."""
    return GatewayError("unknown_card", "no such card in this program", 404)


def card_revoked() -> GatewayError:
    """410: the card was revoked."""
    return GatewayError("card_revoked", "this card has been revoked", 410)


def card_locked(until: datetime, now: datetime) -> GatewayError:
    """423: too many wrong codes on this card."""
    return GatewayError(
        "card_locked",
        "this card is locked after too many wrong codes; try again later",
        423,
        headers=_retry_after(until, now),
    )


def terminal_rate_limited(until: datetime, now: datetime) -> GatewayError:
    """429: too many rejected scans from this till."""
    return GatewayError(
        "rate_limited",
        "too many rejected scans from this till; wait before scanning again",
        429,
        headers=_retry_after(until, now),
    )


def lookups_rate_limited(retry_after_seconds: int) -> GatewayError:
    """429: too many card lookups from this till in the last minute."""
    return GatewayError(
        "rate_limited",
        "too many card lookups from this till; wait before looking up another card",
        429,
        headers={"Retry-After": str(max(retry_after_seconds, 1))},
    )


def checkout_required() -> GatewayError:
    """403: the program allows a card lookup only with an open checkout of that card."""
    return GatewayError(
        "checkout_required",
        "this program shows a card only to a till with an open checkout: scan the card",
        403,
    )


def currency_mismatch(program_currency: str, order_currency: str) -> GatewayError:
    """422: the order is in another currency than the program earns in (points would be wrong)."""
    return GatewayError(
        "currency_mismatch",
        f"this program counts in {program_currency}; the order is in {order_currency}",
        422,
        field="order.currency",
    )


def code_rejected() -> GatewayError:
    """422: the one-time code does not match."""
    return GatewayError("code_rejected", "the code on the card is not valid", 422)


def code_already_used(wallet: str) -> GatewayError:
    """409: the code was used before (Apple: the card must refresh to show the next one)."""
    hint = (
        "this code was already used: ask the customer to refresh the card"
        if wallet == "apple"
        else "this code was already used"
    )
    return GatewayError("code_already_used", hint, 409)


def checkout_expired() -> GatewayError:
    """401: an unknown, foreign or expired checkout token."""
    return GatewayError("checkout_expired", "the checkout has expired: scan the card again", 401)


def insufficient_points() -> GatewayError:
    """409: the available points cannot cover the change."""
    return GatewayError("insufficient_points", "not enough points on this card", 409)


def reward_unavailable(message: str) -> GatewayError:
    """409: the reward (or redemptions as a whole) cannot be redeemed now."""
    return GatewayError("reward_unavailable", message, 409)


def limit_reached(message: str) -> GatewayError:
    """409: a daily limit or campaign budget is used up."""
    return GatewayError("limit_reached", message, 409)


def redemption_voided() -> GatewayError:
    """409: a voided redemption cannot be captured."""
    return GatewayError("redemption_voided", "this redemption was voided", 409)


def hold_expired() -> GatewayError:
    """409: the hold ended and its points went back."""
    return GatewayError("hold_expired", "the hold expired and its points were returned", 409)


def idempotency_key_missing() -> GatewayError:
    """400: a mutating call without an Idempotency-Key."""
    return GatewayError(
        "idempotency_key_missing", "send an Idempotency-Key header with this request", 400
    )


def idempotency_key_invalid() -> GatewayError:
    """400: an Idempotency-Key that is too long or not printable."""
    return GatewayError(
        "idempotency_key_invalid",
        f"the Idempotency-Key must be printable and at most {MAX_KEY_LENGTH} characters",
        400,
    )


def idempotency_in_progress() -> GatewayError:
    """409: the first request with this key is still running."""
    return GatewayError(
        "idempotency_in_progress",
        "a request with this Idempotency-Key is still being processed; retry shortly",
        409,
        headers={"Retry-After": "1"},
    )


def idempotency_key_reused() -> GatewayError:
    """422: the key was sent before with a different request."""
    return GatewayError(
        "idempotency_key_reused", "this Idempotency-Key was used with a different request", 422
    )
