"""Development-only adapters cannot reach production."""

from __future__ import annotations

import pytest

from gateway.config import ConfigurationError


def test_console_notifier_is_refused_in_production(make_app):
    with pytest.raises(ConfigurationError) as refused:
        make_app(ENV="production", NOTIFIER="console")
    assert "GATEWAY_NOTIFIER" in str(refused.value) and "GATEWAY_ENV" in str(refused.value)


def test_console_notifier_still_works_in_development(make_app):
    assert make_app(NOTIFIER="console") is not None


def test_production_with_smtp_starts(make_app):
    assert make_app(ENV="production", NOTIFIER="smtp") is not None
