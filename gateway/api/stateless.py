"""No cookie sessions: every caller authenticates on each request (bearer keys, tokens)."""

from __future__ import annotations

from flask import Flask, Request, Response
from flask.sessions import SessionInterface, SessionMixin


class StatelessSessions(SessionInterface):
    """Skips Flask's per-request cookie-session setup; `session` is a read-only null session."""

    def open_session(self, app: Flask, request: Request) -> SessionMixin | None:
        """No session to open (Flask falls back to a null session)."""
        return None

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        """Nothing to save."""
        return None
