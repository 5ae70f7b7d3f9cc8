"""Settings: one typed table of defaults; values converted and checked at start-up."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

import click
import pytest
from flask import Flask

from gateway.cli import _create_app
from gateway.config import ConfigurationError, Settings, config_defaults


def test_flask_defaults_come_from_the_dataclass() -> None:
    defaults = config_defaults()
    assert list(defaults) == [spec.name.upper() for spec in fields(Settings)]
    assert Settings.from_mapping(defaults) == Settings() == Settings.from_mapping({})
    assert defaults["CHECKOUT_TTL_SECONDS"] == 300
    assert defaults["SCAN_RECORD_RETENTION_HOURS"] == 24
    assert defaults["CRM_TIMEOUT_SECONDS"] == 5.0
    assert defaults["SMTP_STARTTLS"] is False


def test_strings_are_converted() -> None:
    settings = Settings.from_mapping(
        {
            "SMTP_STARTTLS": "false",
            "CHECKOUT_TTL_SECONDS": "30",
            "SMTP_PORT": " 2525 ",
            "CRM_TIMEOUT_SECONDS": "2.5",
            "TERMS_VERSION": "2026-02",
        }
    )
    assert settings.smtp_starttls is False
    assert settings.checkout_ttl_seconds == 30
    assert settings.smtp_port == 2525
    assert settings.crm_timeout_seconds == 2.5
    assert settings.terms_version == "2026-02"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("true", True), ("1", True), ("yes", True), ("ON", True), (1, True), (True, True),
        ("false", False), ("0", False), ("no", False), ("Off", False), (0, False), (False, False),
    ],
)
def test_booleans_accept_the_usual_spellings(raw: object, expected: bool) -> None:
    assert Settings.from_mapping({"SMTP_STARTTLS": raw}).smtp_starttls is expected


def test_environment_variables_as_flask_loads_them(monkeypatch: pytest.MonkeyPatch) -> None:
    # from_prefixed_env parses JSON first: "30" arrives as 30, "false" as False, "2026-02" as text.
    monkeypatch.setenv("GATEWAY_SMTP_STARTTLS", "false")
    monkeypatch.setenv("GATEWAY_CHECKOUT_TTL_SECONDS", "30")
    monkeypatch.setenv("GATEWAY_APNS_KEY_ID", "1234567890")
    monkeypatch.setenv("GATEWAY_TERMS_VERSION", "2026-02")
    app = Flask(__name__)
    app.config.from_mapping(config_defaults())
    app.config.from_prefixed_env("GATEWAY")
    settings = Settings.from_mapping(app.config)
    assert settings.smtp_starttls is False
    assert settings.checkout_ttl_seconds == 30
    assert settings.apns_key_id == "1234567890"
    assert settings.terms_version == "2026-02"


def test_unknown_keys_are_ignored_and_none_keeps_the_default() -> None:
    settings = Settings.from_mapping({"TESTING": True, "SOMETHING_ELSE": "x", "SMTP_PORT": None})
    assert settings == Settings()


@pytest.mark.parametrize(
    ("key", "raw", "problem"),
    [
        ("CHECKOUT_TTL_SECONDS", "abc", "expected a whole number, got 'abc'"),
        ("SMTP_PORT", 25.5, "expected a whole number, got 25.5"),
        ("SMTP_PORT", 70000, "expected a value from 1 to 65535, got 70000"),
        ("HOLD_TTL_SECONDS", -1, "expected a value of at least 0, got -1"),
        ("SCAN_FAILURE_LIMIT", "0", "expected a value of at least 1, got 0"),
        ("TOTP_FORWARD_STEPS", True, "expected a whole number, got True"),
        ("CRM_TIMEOUT_SECONDS", "soon", "expected a number, got 'soon'"),
        ("SMTP_STARTTLS", "maybe", "expected true or false"),
        ("PUBLIC_BASE_URL", ["a"], "expected text, got ['a']"),
    ],
)
def test_a_bad_value_names_its_variable(key: str, raw: object, problem: str) -> None:
    with pytest.raises(ConfigurationError, match=re.escape(f"GATEWAY_{key}: {problem}")):
        Settings.from_mapping({key: raw})


def test_a_bad_environment_variable_stops_start_up(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("GATEWAY_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("GATEWAY_CHECKOUT_TTL_SECONDS", "abc")
    expected = "cannot start: GATEWAY_CHECKOUT_TTL_SECONDS: expected a whole number, got 'abc'"
    with pytest.raises(click.ClickException, match=re.escape(expected)):
        _create_app()
