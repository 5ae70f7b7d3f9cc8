"""Default configuration; every key can be overridden by a GATEWAY_<KEY> environment variable."""

from __future__ import annotations

DEFAULTS: dict[str, object] = {
    # Storage. Empty means SQLite in the instance folder.
    "DATABASE_URL": "",
    # Public base URL used in pass.json webServiceURL, download links and callbacks.
    "PUBLIC_BASE_URL": "http://127.0.0.1:5000",
    # Secret-at-rest key ring: "kid:base64key,kid2:base64key"; the first key encrypts.
    # Empty means a key file in the instance folder (created on first start).
    "SECRET_KEYS": "",
    # Flask session / CSRF secret; empty means a random one kept in the instance folder.
    "SECRET_KEY": "",
    # Apple credentials (PEM files). Empty means the dev chain in <instance>/certs.
    "APPLE_PASS_CERT": "",
    "APPLE_PASS_KEY": "",
    "APPLE_PASS_KEY_PASSWORD": "",
    "APPLE_WWDR_CERT": "",
    # Optional: when set, start-up checks they match the pass certificate's UID / OU.
    "APPLE_PASS_TYPE_ID": "",
    "APPLE_TEAM_ID": "",
    # Google service-account JSON file. Empty means the dev key in <instance>/certs.
    "GOOGLE_SERVICE_ACCOUNT": "",
    # Wallet REST base URL; empty means "no Google API reachable": objects are queued.
    "GOOGLE_API_BASE_URL": "",
    "GOOGLE_SAVE_ORIGINS": "",
    # Google's root signing keys for callbacks (JSON as published by Google); empty: callbacks
    # are refused with 503 because they cannot be verified.
    "GOOGLE_CALLBACK_ROOT_KEYS": "",
    # APNs for Apple pass updates; empty base URL means no pushes (Wallet still refreshes on pull).
    # With a .p8 key: provider-token auth; without: TLS auth with the pass type certificate.
    "APNS_BASE_URL": "",
    "APNS_AUTH_KEY_FILE": "",
    "APNS_KEY_ID": "",
    "APNS_TEAM_ID": "",
    "APNS_CA_FILE": "",
    # CRM: "builtin" (tables in this database) or "http".
    "CRM": "builtin",
    "CRM_BASE_URL": "",
    "CRM_API_KEY": "",
    "CRM_WEBHOOK_SECRET": "",
    "CRM_TIMEOUT_SECONDS": 5.0,
    # Notifier: "console" (prints codes to the log, dev only) or "smtp".
    "NOTIFIER": "console",
    "SMTP_HOST": "127.0.0.1",
    "SMTP_PORT": 25,
    "SMTP_USERNAME": "",
    "SMTP_PASSWORD": "",
    "SMTP_STARTTLS": False,
    "SMTP_FROM": "loyalty@example.com",
    "SMS_BASE_URL": "",
    # Enrollment.
    "ENROLLMENT_TTL_SECONDS": 900,
    "ENROLLMENT_MAX_ATTEMPTS": 5,
    "TERMS_VERSION": "2026-01",
    # One-time codes.
    "TOTP_BACKWARD_STEPS": 1,
    "TOTP_FORWARD_STEPS": 1,
    "APPLE_CODE_MAX_AGE_DAYS": 30,
}
