"""gunicorn's logger with bearer tokens redacted from access-log lines (see gunicorn.conf.py)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from gunicorn.glogging import Logger

from gateway.log_redaction import REDACTED, redact


class RedactingLogger(Logger):  # type: ignore[misc]  # gunicorn ships no type hints
    """Every text atom of the access log (request line, path, referer, ...) is redacted, and
    the Authorization header (ApplePass tokens, terminal keys) never shows."""

    def atoms(self, resp: Any, req: Any, environ: Any, request_time: timedelta) -> Any:
        """gunicorn's atoms, redacted."""
        atoms: dict[str, Any] = dict(super().atoms(resp, req, environ, request_time))
        for key, value in atoms.items():
            if key in ("{authorization}i", "{http_authorization}e"):
                atoms[key] = REDACTED
            elif isinstance(value, str):
                atoms[key] = redact(value)
        return atoms
