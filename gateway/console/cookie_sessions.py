"""Flask's signed cookie session for /console only; every other request gets none.

The POS, enrollment and wallet paths authenticate each request (bearer keys, tokens): they
neither read nor write a cookie session."""

from __future__ import annotations

from flask import Flask, Request, Response
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface, SessionMixin

CONSOLE_PATH = "/console"


def is_console_path(path: str) -> bool:
    """Whether a request path belongs to the console."""
    return path == CONSOLE_PATH or path.startswith(CONSOLE_PATH + "/")


class ConsoleOnlySessions(SecureCookieSessionInterface):
    """Opens (and saves) the signed cookie session only on console paths."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        """The console's session; None elsewhere (Flask then uses a null session)."""
        if not is_console_path(request.path):
            return None
        return super().open_session(app, request)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        """Save the console's session; nothing to do for the null session of other paths."""
        if self.is_null_session(session):
            return
        super().save_session(app, session, response)
