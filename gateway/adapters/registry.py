"""Chooses each port's adapter from configuration."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from gateway.adapters.crm import CrmPort
from gateway.adapters.crm_builtin import BuiltinCrm
from gateway.adapters.crm_http import HttpCrm
from gateway.adapters.notifier import ConsoleNotifier, NotifierPort, SmtpNotifier


class ConfigurationError(Exception):
    """A setting that cannot work; start-up stops with this message."""


def build_crm(config: dict[str, Any], sessions: sessionmaker[Session]) -> CrmPort:
    """GATEWAY_CRM=builtin (default) or http (needs GATEWAY_CRM_BASE_URL)."""
    kind = str(config["CRM"])
    if kind == "builtin":
        return BuiltinCrm(sessions)
    if kind == "http":
        if not config["CRM_BASE_URL"]:
            raise ConfigurationError("GATEWAY_CRM=http needs GATEWAY_CRM_BASE_URL")
        return HttpCrm(
            str(config["CRM_BASE_URL"]),
            str(config["CRM_API_KEY"]),
            str(config["CRM_WEBHOOK_SECRET"]),
            float(config["CRM_TIMEOUT_SECONDS"]),
        )
    raise ConfigurationError(f"GATEWAY_CRM must be builtin or http, not {kind!r}")


def build_notifier(config: dict[str, Any]) -> NotifierPort:
    """GATEWAY_NOTIFIER=console (default, development) or smtp."""
    kind = str(config["NOTIFIER"])
    if kind == "console":
        return ConsoleNotifier()
    if kind == "smtp":
        return SmtpNotifier(
            str(config["SMTP_HOST"]),
            int(config["SMTP_PORT"]),
            str(config["SMTP_FROM"]),
            username=str(config["SMTP_USERNAME"]),
            password=str(config["SMTP_PASSWORD"]),
            starttls=bool(config["SMTP_STARTTLS"]),
            sms_base_url=str(config["SMS_BASE_URL"]),
        )
    raise ConfigurationError(f"GATEWAY_NOTIFIER must be console or smtp, not {kind!r}")
