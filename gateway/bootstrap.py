"""Builds the runtime once at start-up: settings, database, key ring, credentials, clients."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import TypeVar

from flask import Flask

import gateway.services.keep_live.delivery  # noqa: F401  (registers outbox handlers)
from gateway.adapters.registry import build_crm, build_notifier
from gateway.config import ConfigurationError, Settings
from gateway.credentials import load_credentials
from gateway.db import make_engine, make_session_factory
from gateway.pos.checkout import CheckoutSigner
from gateway.pos.settings import PosSettings
from gateway.pos.store import build_pos_store
from gateway.runtime import Runtime, StartupFailure
from gateway.secret_box import SecretBox, load_or_create_dev_ring, parse_key_ring
from gateway.services.console.rate_limits import SignInLimiter
from gateway.services.issue.rate_limits import EnrollmentLimiter, EnrollmentLimits
from gateway.services.keep_live.apple_push import build_apns_client
from gateway.services.keep_live.google_callbacks import load_root_keys
from gateway.services.keep_live.google_objects import build_save_signer, build_wallet_client

log = logging.getLogger(__name__)
T = TypeVar("T")


def database_url(settings: Settings, instance_path: Path) -> str:
    """The configured database, or SQLite in the instance folder."""
    return settings.database_url or f"sqlite:///{instance_path / 'gateway.sqlite3'}"


def _secret_key(configured: str, instance_path: Path) -> str:
    if configured:
        return configured
    path = instance_path / "flask-secret"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(32))
        path.chmod(0o600)
    return path.read_text().strip()


def checkout_signer_for(secret_key: str) -> CheckoutSigner:
    """The checkout-token signer, keyed from SECRET_KEY."""
    key = hmac.new(secret_key.encode(), b"checkout-token", hashlib.sha256)
    return CheckoutSigner(key.digest())


def pos_settings_for(settings: Settings) -> PosSettings:
    """The POS services' view of the settings (durations as timedelta)."""
    return PosSettings(
        checkout_ttl=timedelta(seconds=settings.checkout_ttl_seconds),
        hold_ttl=timedelta(seconds=settings.hold_ttl_seconds),
        scan_failure_limit=settings.scan_failure_limit,
        terminal_scan_failure_limit=settings.terminal_scan_failure_limit,
        failure_window=timedelta(seconds=settings.scan_failure_window_seconds),
        card_lock=timedelta(seconds=settings.card_lock_seconds),
        terminal_lock=timedelta(seconds=settings.terminal_lock_seconds),
        card_lookups_per_minute=settings.card_lookups_per_minute,
        idempotency_stale=timedelta(seconds=settings.idempotency_stale_seconds),
        idempotency_retention=timedelta(hours=settings.idempotency_retention_hours),
        scan_record_retention=timedelta(hours=settings.scan_record_retention_hours),
        totp_backward_steps=settings.totp_backward_steps,
        totp_forward_steps=settings.totp_forward_steps,
    )


def _or_failure(what: str, build: Callable[[], T]) -> T | StartupFailure:
    """Build an optional part now; if its configured files are wrong, start anyway (as when it
    was built on first use) and let every use raise the error."""
    try:
        return build()
    except Exception as exc:
        log.error("%s cannot be used until this is fixed: %s", what, exc)
        return StartupFailure(exc)


def _enrollment_limiter(settings: Settings) -> EnrollmentLimiter:
    limits = EnrollmentLimits(
        per_contact=settings.codes_per_contact_per_hour,
        per_address=settings.enrollments_per_address_per_hour,
        sms_per_hour=settings.sms_per_hour,
    )
    try:
        return EnrollmentLimiter(settings.rate_limit_storage, limits)
    except Exception as exc:
        raise ConfigurationError(
            f"GATEWAY_RATE_LIMIT_STORAGE: {settings.rate_limit_storage!r} is not a storage "
            f"(memory:// or redis://host:port/db): {exc}"
        ) from exc


def build_runtime(app: Flask) -> Runtime:
    """Load everything that must be loaded once; fail start-up with a clear message otherwise."""
    instance_path = Path(app.instance_path)
    settings = Settings.from_mapping(app.config)
    settings = replace(settings, secret_key=_secret_key(settings.secret_key, instance_path))
    app.config["SECRET_KEY"] = settings.secret_key
    ring_spec = settings.secret_keys or load_or_create_dev_ring(instance_path / "secret-keys")
    engine = make_engine(database_url(settings, instance_path))
    sessions = make_session_factory(engine)
    secret_box = SecretBox(parse_key_ring(ring_spec))
    credentials = load_credentials(settings, instance_path)
    account = credentials.google_service_account
    return Runtime(
        settings=settings,
        engine=engine,
        sessions=sessions,
        secret_box=secret_box,
        credentials=credentials,
        crm=build_crm(settings, sessions),
        notifier=build_notifier(settings),
        checkout_signer=checkout_signer_for(settings.secret_key),
        pos_settings=pos_settings_for(settings),
        pos_store=build_pos_store(engine),
        enrollment_limiter=_enrollment_limiter(settings),
        # Same storage as the enrollment limiter (its URI was checked just above).
        signin_limiter=SignInLimiter(
            settings.rate_limit_storage, settings.console_signins_per_address
        ),
        google_save_signer=build_save_signer(settings, account),
        google_wallet=build_wallet_client(settings, account),
        google_root_keys=_or_failure(
            "GATEWAY_GOOGLE_CALLBACK_ROOT_KEYS (Google callbacks)",
            lambda: load_root_keys(settings),
        ),
        apns=_or_failure(
            "GATEWAY_APNS_* (Apple pass update pushes)",
            lambda: build_apns_client(settings, credentials.apple_signer, instance_path),
        ),
    )
