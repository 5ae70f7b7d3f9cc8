"""POS tunables read once from the app config (every key overridable by GATEWAY_<KEY>)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from gateway.runtime import Runtime

DEFAULTS: dict[str, int] = {
    "CHECKOUT_TTL_SECONDS": 300,
    "HOLD_TTL_SECONDS": 1800,
    "SCAN_FAILURE_LIMIT": 5,
    "TERMINAL_SCAN_FAILURE_LIMIT": 20,
    "SCAN_FAILURE_WINDOW_SECONDS": 900,
    "CARD_LOCK_SECONDS": 900,
    "TERMINAL_LOCK_SECONDS": 900,
    "IDEMPOTENCY_STALE_SECONDS": 60,
    "IDEMPOTENCY_RETENTION_HOURS": 48,
    "SCAN_RECORD_RETENTION_HOURS": 24,
}


@dataclass(frozen=True, slots=True)
class PosSettings:
    """Lifetimes, lockout thresholds and the TOTP window used by the POS services."""

    checkout_ttl: timedelta
    hold_ttl: timedelta
    scan_failure_limit: int
    terminal_scan_failure_limit: int
    failure_window: timedelta
    card_lock: timedelta
    terminal_lock: timedelta
    idempotency_stale: timedelta
    idempotency_retention: timedelta
    scan_record_retention: timedelta
    totp_backward_steps: int
    totp_forward_steps: int


def pos_settings(rt: Runtime) -> PosSettings:
    """The settings of this runtime, computed on first use and kept with it."""
    cached = rt.extras.get("pos_settings")
    if isinstance(cached, PosSettings):
        return cached

    def number(key: str) -> int:
        return int(rt.config.get(key, DEFAULTS[key]))

    settings = PosSettings(
        checkout_ttl=timedelta(seconds=number("CHECKOUT_TTL_SECONDS")),
        hold_ttl=timedelta(seconds=number("HOLD_TTL_SECONDS")),
        scan_failure_limit=number("SCAN_FAILURE_LIMIT"),
        terminal_scan_failure_limit=number("TERMINAL_SCAN_FAILURE_LIMIT"),
        failure_window=timedelta(seconds=number("SCAN_FAILURE_WINDOW_SECONDS")),
        card_lock=timedelta(seconds=number("CARD_LOCK_SECONDS")),
        terminal_lock=timedelta(seconds=number("TERMINAL_LOCK_SECONDS")),
        idempotency_stale=timedelta(seconds=number("IDEMPOTENCY_STALE_SECONDS")),
        idempotency_retention=timedelta(hours=number("IDEMPOTENCY_RETENTION_HOURS")),
        scan_record_retention=timedelta(hours=number("SCAN_RECORD_RETENTION_HOURS")),
        totp_backward_steps=int(rt.config.get("TOTP_BACKWARD_STEPS", 1)),
        totp_forward_steps=int(rt.config.get("TOTP_FORWARD_STEPS", 1)),
    )
    rt.extras["pos_settings"] = settings
    return settings
