"""API fixtures: the till helpers of the integration tests, and a local SMTP server."""

from collections.abc import Iterator

import pytest
from flask import Flask

from tests.conftest import AppFactory
from tests.factories import demo_program
from tests.fakes.smtp_server import FakeSmtpServer
from tests.integration.conftest import Till, new_till, till

__all__ = ["Till", "new_till", "till"]


@pytest.fixture
def smtp() -> Iterator[FakeSmtpServer]:
    """A local SMTP server that keeps what it receives."""
    with FakeSmtpServer() as server:
        yield server


@pytest.fixture
def mail_app(make_app: AppFactory, smtp: FakeSmtpServer) -> Flask:
    """The gateway sending codes to `smtp`, with the demo program."""
    app = make_app(NOTIFIER="smtp", SMTP_HOST=smtp.host, SMTP_PORT=smtp.port)
    demo_program(app)
    return app
