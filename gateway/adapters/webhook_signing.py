"""Signed webhooks: X-Gateway-Signature = hex HMAC-SHA256 over "<timestamp>.<body>"."""

from __future__ import annotations

import hashlib
import hmac
import time

SIGNATURE_HEADER = "X-Gateway-Signature"
TIMESTAMP_HEADER = "X-Gateway-Timestamp"
EVENT_ID_HEADER = "X-Gateway-Event-Id"
MAX_AGE_SECONDS = 300


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature a receiver recomputes."""
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signed_headers(
    secret: str, event_id: str, body: bytes, now: int | None = None
) -> dict[str, str]:
    """Headers for one delivery."""
    timestamp = int(time.time()) if now is None else now
    return {
        "Content-Type": "application/json",
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: sign(secret, timestamp, body),
        EVENT_ID_HEADER: event_id,
    }


def verify(
    secret: str, timestamp: str, signature: str, body: bytes, now: int | None = None
) -> bool:
    """What a receiver does: fresh timestamp (<= 5 min) and a constant-time signature match."""
    if not timestamp.isdigit():
        return False
    current = int(time.time()) if now is None else now
    if abs(current - int(timestamp)) > MAX_AGE_SECONDS:
        return False
    return hmac.compare_digest(sign(secret, int(timestamp), body), signature)
