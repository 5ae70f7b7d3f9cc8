"""A real local SMTP server (aiosmtpd) that keeps every message it receives."""

from __future__ import annotations

import re
import socket
from email import message_from_bytes
from email.message import Message
from types import TracebackType
from typing import Any

from aiosmtpd.controller import Controller


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


class FakeSmtpServer:
    """`with FakeSmtpServer() as smtp:` then point GATEWAY_SMTP_HOST/PORT at smtp.host/port."""

    def __init__(self) -> None:
        self.host = "127.0.0.1"
        self.port = free_port()
        self._inbox = _Inbox()
        self._controller = Controller(self._inbox, hostname=self.host, port=self.port)

    def __enter__(self) -> FakeSmtpServer:
        self._controller.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._controller.stop()

    @property
    def messages(self) -> list[Message]:
        """Messages received so far."""
        return self._inbox.messages

    def last_code_for(self, address: str) -> str:
        """The 6-digit code in the newest message to `address`."""
        for message in reversed(self.messages):
            if message["To"].lower() == address.lower():
                body = message.get_payload(decode=True)
                assert isinstance(body, bytes)
                found = re.search(r"\b(\d{6})\b", body.decode())
                assert found, "no code in the message"
                return found.group(1)
        raise AssertionError(f"no message to {address}")
