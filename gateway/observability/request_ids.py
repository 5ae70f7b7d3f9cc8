"""A request id for every request: the caller's X-Request-Id when it is sane, else a new one;
echoed in the answer and attached to every log line written while the request runs."""

from __future__ import annotations

import logging
import re
import secrets

from flask import Flask, Response, g, has_request_context, request

HEADER = "X-Request-Id"
# A proxy's or till's id is kept only when it cannot smuggle anything into a log line.
_SANE = re.compile(r"[A-Za-z0-9._:-]{1,64}")


def current_request_id() -> str | None:
    """The id of the request being handled (None outside a request)."""
    if not has_request_context():
        return None
    value = g.get("request_id")
    return value if isinstance(value, str) else None


class RequestIdFilter(logging.Filter):
    """Adds `request_id` to every record ("-" outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Always keeps the record."""
        record.request_id = current_request_id() or "-"
        return True


def install(app: Flask) -> None:
    """Assign the id before any handler, return it with the answer."""

    @app.before_request
    def _assign() -> None:
        given = request.headers.get(HEADER, "")
        g.request_id = given if _SANE.fullmatch(given) else secrets.token_hex(8)

    @app.after_request
    def _echo(response: Response) -> Response:
        request_id = current_request_id()
        if request_id:
            response.headers[HEADER] = request_id
        return response
