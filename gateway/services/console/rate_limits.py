"""Sign-in attempts per client address, counted atomically in the rate-limit storage (Redis in
production) so every worker shares one budget."""

from __future__ import annotations

from limits import RateLimitItemPerMinute
from limits.storage import Storage, storage_from_string
from limits.strategies import FixedWindowRateLimiter

WINDOW_MINUTES = 15


class SignInLimiter:
    """A fixed 15-minute window of sign-in attempts per address."""

    def __init__(self, storage_uri: str, per_address: int) -> None:
        storage = storage_from_string(storage_uri)
        if not isinstance(storage, Storage):
            raise ValueError(f"{storage_uri!r} names an asyncio storage; use a synchronous one")
        self._storage = storage
        self._limiter = FixedWindowRateLimiter(storage)
        self._attempts = RateLimitItemPerMinute(per_address, WINDOW_MINUTES)
        # One audit row per address and window, however many refusals follow.
        self._audit = RateLimitItemPerMinute(1, WINDOW_MINUTES)

    def admit(self, address: str) -> bool:
        """Count one attempt from `address`; False when its budget is spent."""
        return self._limiter.hit(self._attempts, "signin", address or "unknown")

    def first_refusal(self, address: str) -> bool:
        """True once per window: whether this refusal should be audited."""
        return self._limiter.hit(self._audit, "signin-refused", address or "unknown")

    def reset(self) -> None:
        """Forget every count (tests and operators after an incident)."""
        self._storage.reset()
