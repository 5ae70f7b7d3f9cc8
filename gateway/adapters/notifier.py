"""The notifier port: sends the enrollment verification code, and a replaced card's new pass
links, by e-mail or SMS."""

from __future__ import annotations

import smtplib
import sys
from email.message import EmailMessage
from typing import Protocol

import requests

from gateway.domain.errors import UpstreamUnavailable


class NotifierUnavailable(UpstreamUnavailable):
    """The code could not be sent."""

    def __init__(self) -> None:
        super().__init__(
            "notifier_unavailable", "the verification message could not be sent; try again"
        )


class NotifierPort(Protocol):
    """Delivers one verification code to one contact."""

    def send_code(self, kind: str, contact: str, code: str, program_name: str) -> None: ...

    def send_card_links(
        self, kind: str, contact: str, program_name: str, apple_url: str, google_url: str
    ) -> None: ...


def _text(code: str, program_name: str) -> str:
    return f"Your {program_name} verification code is {code}. It expires in 15 minutes."


def _links_text(program_name: str, apple_url: str, google_url: str) -> str:
    return (
        f"Your {program_name} card was replaced. Add it again: Apple Wallet {apple_url} "
        f"or Google Wallet {google_url}. Earlier copies of the card no longer work."
    )


class ConsoleNotifier:
    """Development only: writes the message to stderr so a newcomer can finish enrolling.

    It puts codes in the log, so start-up refuses it when GATEWAY_ENV is "production"
    (`registry.build_notifier`).
    """

    def send_code(self, kind: str, contact: str, code: str, program_name: str) -> None:
        """Print the message a real notifier would send."""
        print(f"[dev notifier] to {kind} {contact}: {_text(code, program_name)}", file=sys.stderr)

    def send_card_links(
        self, kind: str, contact: str, program_name: str, apple_url: str, google_url: str
    ) -> None:
        """Print the message a real notifier would send."""
        text = _links_text(program_name, apple_url, google_url)
        print(f"[dev notifier] to {kind} {contact}: {text}", file=sys.stderr)


class SmtpNotifier:
    """E-mail through an SMTP server (standard library); SMS through an HTTP gateway."""

    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        *,
        username: str = "",
        password: str = "",
        starttls: bool = False,
        sms_base_url: str = "",
        timeout: float = 10.0,
    ) -> None:
        self._host, self._port, self._sender = host, port, sender
        self._username, self._password, self._starttls = username, password, starttls
        self._sms_base_url = sms_base_url.rstrip("/")
        self._timeout = timeout

    def send_code(self, kind: str, contact: str, code: str, program_name: str) -> None:
        """Send by e-mail or SMS according to the contact kind."""
        if kind == "phone":
            self._send_sms(contact, _text(code, program_name))
        else:
            self._send_email(contact, f"{program_name}: your code", _text(code, program_name))

    def send_card_links(
        self, kind: str, contact: str, program_name: str, apple_url: str, google_url: str
    ) -> None:
        """The new pass links of a replaced card, by e-mail or SMS."""
        text = _links_text(program_name, apple_url, google_url)
        if kind == "phone":
            self._send_sms(contact, text)
        else:
            self._send_email(contact, f"{program_name}: your new card", text)

    def _send_email(self, to: str, subject: str, text: str) -> None:
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = self._sender, to, subject
        message.set_content(text)
        try:
            with smtplib.SMTP(self._host, self._port, timeout=self._timeout) as smtp:
                if self._starttls:
                    smtp.starttls()
                if self._username:
                    smtp.login(self._username, self._password)
                smtp.send_message(message)
        except (OSError, smtplib.SMTPException) as exc:
            raise NotifierUnavailable() from exc

    def _send_sms(self, to: str, text: str) -> None:
        if not self._sms_base_url:
            raise NotifierUnavailable()
        try:
            response = requests.post(
                f"{self._sms_base_url}/messages",
                json={"to": to, "text": text},
                timeout=self._timeout,
            )
        except requests.RequestException as exc:
            raise NotifierUnavailable() from exc
        if not 200 <= response.status_code < 300:
            raise NotifierUnavailable()
