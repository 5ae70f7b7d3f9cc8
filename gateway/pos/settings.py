"""POS lifetimes, lockout thresholds and the TOTP window, built once from the typed settings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


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
    card_lookups_per_minute: int
    idempotency_stale: timedelta
    idempotency_retention: timedelta
    scan_record_retention: timedelta
    totp_backward_steps: int
    totp_forward_steps: int
