"""Enrollment rate limits: per contact (across programs), per client address, and a global SMS
budget, counted atomically in shared storage (Redis in production) so parallel requests and
several workers cannot overshoot them."""

from __future__ import annotations

import time
from dataclasses import dataclass

from limits import RateLimitItem, RateLimitItemPerHour
from limits.storage import Storage, storage_from_string
from limits.strategies import FixedWindowRateLimiter

from gateway.domain.errors import GatewayError

# Mail providers that ignore dots in the local part; +tags are ignored for every domain (the
# key only counts requests, so a stricter key can only limit more).
_DOTLESS_DOMAINS = {"gmail.com", "googlemail.com"}


def contact_key(kind: str, contact: str) -> str:
    """The contact as the limiter counts it: `+tag`s dropped, and dots where the provider
    ignores them, so address variants of one mailbox share one budget."""
    if kind != "email":
        return f"phone:{contact}"
    local, _, domain = contact.lower().partition("@")
    local = local.split("+", 1)[0]
    if domain in _DOTLESS_DOMAINS:
        local = local.replace(".", "")
        domain = "gmail.com"
    return f"email:{local}@{domain}"


@dataclass(frozen=True, slots=True)
class EnrollmentLimits:
    """The hourly budgets of enrollment requests."""

    per_contact: int
    per_address: int
    sms_per_hour: int


class EnrollmentLimiter:
    """Atomic hourly counters for enrollment requests (fixed windows)."""

    def __init__(self, storage_uri: str, limits: EnrollmentLimits) -> None:
        storage = storage_from_string(storage_uri)
        if not isinstance(storage, Storage):
            raise ValueError(f"{storage_uri!r} names an asyncio storage; use a synchronous one")
        self._storage = storage
        self._limiter = FixedWindowRateLimiter(self._storage)
        self._contact = RateLimitItemPerHour(limits.per_contact)
        self._address = RateLimitItemPerHour(limits.per_address)
        self._sms = RateLimitItemPerHour(limits.sms_per_hour)

    def admit_request(self, address: str) -> None:
        """Count one enrollment request from a client address; 429 `rate_limited` (with
        Retry-After) when its budget is spent."""
        self._hit(self._address, "address", address or "unknown")

    def admit_send(self, kind: str, contact: str) -> None:
        """Count one code about to be sent to a contact (and, by SMS, against the global SMS
        budget); 429 `rate_limited` when a budget is spent."""
        self._hit(self._contact, "contact", contact_key(kind, contact))
        if kind == "phone":
            self._hit(self._sms, "sms", "all")

    def _hit(self, item: RateLimitItem, *scope: str) -> None:
        if self._limiter.hit(item, "enrollment", *scope):
            return
        reset = self._limiter.get_window_stats(item, "enrollment", *scope).reset_time
        raise GatewayError(
            "rate_limited",
            "too many enrollment requests; try again later",
            429,
            headers={"Retry-After": str(max(int(reset - time.time()) + 1, 1))},
        )

    def reset(self) -> None:
        """Forget every count (tests and operators after an incident)."""
        self._storage.reset()
