"""Chooses each port's adapter from configuration."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from gateway.adapters.crm import CrmPort
from gateway.adapters.crm_builtin import BuiltinCrm
from gateway.adapters.crm_http import HttpCrm
from gateway.adapters.notifier import ConsoleNotifier, NotifierPort, SmtpNotifier
from gateway.config import ConfigurationError, Settings

__all__ = ["ConfigurationError", "build_crm", "build_notifier"]


def build_crm(settings: Settings, sessions: sessionmaker[Session]) -> CrmPort:
    """GATEWAY_CRM=builtin (default) or http (needs GATEWAY_CRM_BASE_URL)."""
    kind = settings.crm
    if kind == "builtin":
        return BuiltinCrm(sessions)
    if kind == "http":
        if not settings.crm_base_url:
            raise ConfigurationError("GATEWAY_CRM=http needs GATEWAY_CRM_BASE_URL")
        return HttpCrm(
            settings.crm_base_url,
            settings.crm_api_key,
            settings.crm_webhook_secret,
            settings.crm_timeout_seconds,
        )
    raise ConfigurationError(f"GATEWAY_CRM must be builtin or http, not {kind!r}")


def build_notifier(settings: Settings) -> NotifierPort:
    """GATEWAY_NOTIFIER=console (default, development) or smtp."""
    kind = settings.notifier
    if kind == "console":
        if settings.env == "production":
            raise ConfigurationError(
                "GATEWAY_NOTIFIER=console writes verification codes to the log and is for "
                "development only; with GATEWAY_ENV=production set GATEWAY_NOTIFIER=smtp"
            )
        return ConsoleNotifier()
    if kind == "smtp":
        return SmtpNotifier(
            settings.smtp_host,
            settings.smtp_port,
            settings.smtp_from,
            username=settings.smtp_username,
            password=settings.smtp_password,
            starttls=settings.smtp_starttls,
            sms_base_url=settings.sms_base_url,
        )
    raise ConfigurationError(f"GATEWAY_NOTIFIER must be console or smtp, not {kind!r}")
