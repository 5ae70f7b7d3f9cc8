"""Bearer tokens in request paths never reach the logs.

Download tokens (`/api/v1/passes/apple/<token>.pkpass`), consent tokens
(`/api/v1/consents/<token>`), enrollment ids (`/api/v1/enrollments/<id>/verify`) and operators'
set-password links (`/console/set-password/<token>`) are credentials: an access log that kept
them would hand out passes, consents, code guesses and console accounts to whoever reads it.
Werkzeug's request log, Flask's error log and gunicorn's logs (gateway.gunicorn_logging,
gunicorn.conf.py) replace them with `…`.
"""

from __future__ import annotations

import logging
import re

from flask import Flask

REDACTED = "…"
_BEARER_SEGMENTS = re.compile(
    r"(/api/v1/(?:passes/apple|consents|enrollments)/|/console/set-password/)[^/?#\s\"'.]+",
)
# Loggers that write request lines: Werkzeug's development server, gunicorn's access and
# error logs.
REQUEST_LOGGERS = ("werkzeug", "gunicorn.access", "gunicorn.error")


def redact(text: str) -> str:
    """The text with every bearer path segment replaced by `…`."""
    return _BEARER_SEGMENTS.sub(rf"\g<1>{REDACTED}", text)


class RedactingFilter(logging.Filter):
    """Rewrites a record's message with the bearer path segments replaced."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Always keeps the record, redacted."""
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return True  # a broken format: left for logging's own error report
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


_FILTER = RedactingFilter()


def install_log_redaction(app: Flask) -> None:
    """Attach the filter to the request loggers and the app's logger (once per logger)."""
    for logger in (*(logging.getLogger(name) for name in REQUEST_LOGGERS), app.logger):
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
