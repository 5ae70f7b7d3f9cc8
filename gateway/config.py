"""Typed settings with their defaults; each one is set by a GATEWAY_<NAME> environment variable.

`Settings` is the single source of defaults. `config_defaults()` gives them to Flask's config under
the UPPER_CASE names (the names of the environment variables without the prefix and of the
test_config keys), and `Settings.from_mapping(app.config)` converts and checks every value once, at
start-up: a bad value stops start-up with a `ConfigurationError` naming its variable.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any, get_type_hints

ENV_PREFIX = "GATEWAY_"
_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off", ""})
_WHOLE = re.compile(r"[+-]?\d+")


class ConfigurationError(Exception):
    """A setting that cannot work; start-up stops with this message."""


@dataclass(frozen=True, slots=True)
class _Range:
    minimum: float
    maximum: float | None = None

    def check(self, name: str, value: float) -> None:
        if self.maximum is not None and not self.minimum <= value <= self.maximum:
            raise _problem(name, f"a value from {self.minimum:g} to {self.maximum:g}", value)
        if value < self.minimum:
            raise _problem(name, f"a value of at least {self.minimum:g}", value)


def _bounded(default: float, minimum: float, maximum: float | None = None) -> Any:
    """A numeric field that must lie in [minimum, maximum]."""
    return field(default=default, metadata={"range": _Range(minimum, maximum)})


@dataclass(frozen=True, slots=True)
class Settings:
    """Every setting of the gateway, converted and checked (see `from_mapping`)."""

    # "production" refuses development-only adapters (NOTIFIER=console) at start-up.
    env: str = "development"
    # Storage. Empty means SQLite in the instance folder.
    database_url: str = ""
    # Public base URL used in pass.json webServiceURL, download links and callbacks.
    public_base_url: str = "http://127.0.0.1:5000"
    # Secret-at-rest key ring: "kid:base64key,kid2:base64key"; the first key encrypts.
    # Empty means a key file in the instance folder (created on first start).
    secret_keys: str = ""
    # Flask session / CSRF secret; empty means a random one kept in the instance folder.
    secret_key: str = ""
    # Apple credentials (PEM files). Empty means the dev chain in <instance>/certs.
    apple_pass_cert: str = ""
    apple_pass_key: str = ""
    apple_pass_key_password: str = ""
    apple_wwdr_cert: str = ""
    # Optional: when set, start-up checks they match the pass certificate's UID / OU.
    apple_pass_type_id: str = ""
    apple_team_id: str = ""
    # Google service-account JSON file. Empty means the dev key in <instance>/certs.
    google_service_account: str = ""
    # Google Wallet issuer id of programs created in the console; empty: the development issuer.
    google_issuer_id: str = ""
    # Wallet REST base URL; empty means "no Google API reachable": objects are queued.
    google_api_base_url: str = ""
    # Comma-separated origins in save JWTs; empty means the public base URL.
    google_save_origins: str = ""
    # Google's root signing keys for callbacks (JSON as published by Google); empty: callbacks
    # are refused with 503 because they cannot be verified.
    google_callback_root_keys: str = ""
    # APNs for Apple pass updates; empty base URL means no pushes (Wallet still refreshes on pull).
    # With a .p8 key: provider-token auth; without: TLS auth with the pass type certificate.
    apns_base_url: str = ""
    apns_auth_key_file: str = ""
    apns_key_id: str = ""
    apns_team_id: str = ""
    apns_ca_file: str = ""
    # CRM: "builtin" (tables in this database) or "http".
    crm: str = "builtin"
    crm_base_url: str = ""
    crm_api_key: str = ""
    crm_webhook_secret: str = ""
    crm_timeout_seconds: float = _bounded(5.0, minimum=0)
    # Notifier: "console" (prints codes to the log, dev only) or "smtp".
    notifier: str = "console"
    smtp_host: str = "127.0.0.1"
    smtp_port: int = _bounded(25, minimum=1, maximum=65535)
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = False
    smtp_from: str = "loyalty@example.com"
    sms_base_url: str = ""
    # Enrollment (a negative lifetime makes every new enrollment expired: tests use it).
    enrollment_ttl_seconds: int = 900
    enrollment_max_attempts: int = _bounded(5, minimum=1)
    terms_version: str = "2026-01"
    # Enrollment rate limits, per hour: requests per client address, codes sent per contact
    # (across programs and address variants), SMS codes in all. The counters live in
    # RATE_LIMIT_STORAGE: "memory://" (one process: development) or "redis://host:port/db"
    # (shared by every worker: production).
    rate_limit_storage: str = "memory://"
    enrollments_per_address_per_hour: int = _bounded(20, minimum=1)
    codes_per_contact_per_hour: int = _bounded(5, minimum=1)
    sms_per_hour: int = _bounded(200, minimum=1)
    # Reverse proxies in front of the app whose X-Forwarded-For/-Proto/-Host are trusted
    # (0: none; 1 behind the nginx of deploy/).
    proxy_count: int = _bounded(0, minimum=0)
    # How long an Apple pass download link works (it also stops once the pass is installed).
    pass_link_ttl_seconds: int = _bounded(86400, minimum=0)
    # How long delivered outbox events are kept before the housekeeping chore deletes them.
    outbox_retention_hours: int = _bounded(168, minimum=0)
    # Failed deliveries of one event before it stops retrying and waits as a dead letter for an
    # operator (retry or discard on the operations page).
    outbox_max_attempts: int = _bounded(15, minimum=1)
    # Logs: "text" or "json" (one JSON object per line, with the request id).
    log_format: str = "text"
    # When set, /metrics asks for `Authorization: Bearer <token>`; empty: open (keep it on an
    # internal network, as deploy/nginx.conf does).
    metrics_token: str = ""
    # /readyz fails when no worker reported a run of the outbox delivery for this long.
    ready_worker_seconds: int = _bounded(120, minimum=1)
    # One-time codes: accepted TOTP drift, and the age at which an unused Apple code is replaced.
    totp_backward_steps: int = _bounded(1, minimum=0)
    totp_forward_steps: int = _bounded(1, minimum=0)
    apple_code_max_age_days: int = _bounded(30, minimum=0)
    # Days a rotated pass's code secret is kept so its codes answer card_revoked ("an old copy
    # of the card") rather than counting as wrong codes; then the housekeeping chore deletes it.
    retired_code_secret_days: int = _bounded(90, minimum=0)
    # POS: checkout and hold lifetimes.
    checkout_ttl_seconds: int = _bounded(300, minimum=0)
    hold_ttl_seconds: int = _bounded(1800, minimum=0)
    # POS: wrong codes per card / per terminal within the window, and how long a lock lasts.
    scan_failure_limit: int = _bounded(5, minimum=1)
    terminal_scan_failure_limit: int = _bounded(20, minimum=1)
    scan_failure_window_seconds: int = _bounded(900, minimum=0)
    card_lock_seconds: int = _bounded(900, minimum=0)
    terminal_lock_seconds: int = _bounded(900, minimum=0)
    # POS: bare card-number lookups (GET /cards/<number>) one terminal may make per minute.
    card_lookups_per_minute: int = _bounded(30, minimum=1)
    # POS: idempotency records (in progress for longer than "stale" may be taken over) and how
    # long used codes and failed scans are kept.
    idempotency_stale_seconds: int = _bounded(60, minimum=0)
    idempotency_retention_hours: int = _bounded(48, minimum=0)
    scan_record_retention_hours: int = _bounded(24, minimum=0)
    # Operator console: minutes without a request after which a sign-in ends, and sign-in
    # attempts one client address may make per 15 minutes (counted in RATE_LIMIT_STORAGE).
    console_idle_minutes: int = _bounded(30, minimum=1)
    console_signins_per_address: int = _bounded(20, minimum=1)
    # Operator console: wrong sign-ins (or wrong codes when turning two-step sign-in off) that
    # lock an account, and for how many minutes the lock lasts.
    console_failed_signins_before_lock: int = _bounded(5, minimum=1, maximum=100)
    console_lock_minutes: int = _bounded(15, minimum=1, maximum=10080)

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any]) -> Settings:
        """Settings from UPPER_CASE keys (Flask's config); absent or None keys keep the default.

        Values may be typed (test_config, JSON parsed by `from_prefixed_env`) or strings:
        "30" is a whole number, "false"/"0"/"no"/"off" and "true"/"1"/"yes"/"on" are booleans.
        Keys that are not settings are ignored.
        """
        hints = get_type_hints(cls)
        values: dict[str, Any] = {}
        for spec in fields(cls):
            raw = mapping.get(spec.name.upper())
            if raw is None:
                continue
            name = ENV_PREFIX + spec.name.upper()
            value = _CONVERTERS[hints[spec.name]](name, raw)
            bounds = spec.metadata.get("range")
            if isinstance(bounds, _Range):
                bounds.check(name, value)
            values[spec.name] = value
        return cls(**values)


def config_defaults() -> dict[str, object]:
    """The defaults under their config names (what Flask's config is seeded with)."""
    defaults = Settings()
    return {spec.name.upper(): getattr(defaults, spec.name) for spec in fields(Settings)}


def _problem(name: str, expected: str, raw: object) -> ConfigurationError:
    return ConfigurationError(f"{name}: expected {expected}, got {raw!r}")


def _text(name: str, raw: object) -> str:
    if isinstance(raw, str):
        return raw
    if isinstance(raw, bytes):
        try:
            return raw.decode()
        except UnicodeDecodeError:
            raise _problem(name, "UTF-8 text", raw) from None
    if isinstance(raw, bool | int | float):
        return str(raw)  # a value from_prefixed_env parsed as JSON: 12345 -> "12345"
    raise _problem(name, "text", raw)


def _whole_number(name: str, raw: object) -> int:
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    if isinstance(raw, float) and raw.is_integer():
        return int(raw)
    if isinstance(raw, str) and _WHOLE.fullmatch(raw.strip()):
        return int(raw.strip())
    raise _problem(name, "a whole number", raw)


def _number(name: str, raw: object) -> float:
    value: float | None = None
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        value = float(raw)
    elif isinstance(raw, str):
        try:
            value = float(raw.strip())
        except ValueError:
            value = None
    if value is None or not math.isfinite(value):
        raise _problem(name, "a number", raw)
    return value


def _boolean(name: str, raw: object) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, int) and raw in (0, 1):
        return bool(raw)
    if isinstance(raw, str) and raw.strip().lower() in _TRUE | _FALSE:
        return raw.strip().lower() in _TRUE
    raise _problem(name, "true or false (or 1/0, yes/no, on/off)", raw)


_CONVERTERS: dict[object, Callable[[str, object], Any]] = {
    str: _text,
    int: _whole_number,
    float: _number,
    bool: _boolean,
}
