"""The one JSON error handler: every error is {"error": {"code", "message"}} with a status."""

from __future__ import annotations

import logging

import psycopg
from flask import Flask, Response, jsonify
from sqlalchemy import exc as sa_exc
from werkzeug.exceptions import HTTPException

from gateway.domain.errors import GatewayError

log = logging.getLogger(__name__)

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}

_MESSAGES = {
    413: "the request body is too large",
}


def _answer(code: str, message: str, status: int) -> tuple[Response, int]:
    return jsonify({"error": {"code": code, "message": message}}), status


def register_error_handlers(app: Flask) -> None:
    """Map domain errors, HTTP errors and anything unexpected to JSON answers."""

    @app.errorhandler(GatewayError)
    def _gateway_error(error: GatewayError) -> tuple[Response, int]:
        response = jsonify(error.body())
        response.headers.update(error.headers)
        return response, error.status

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> tuple[Response, int]:
        status = error.code or 500
        message = _MESSAGES.get(status) or error.description or ""
        response, status = _answer(_HTTP_CODES.get(status, "http_error"), message, status)
        # Keep what Werkzeug says beyond the body: `Allow` on a 405, `Retry-After`, ...
        for name, value in error.get_headers():
            if name.lower() != "content-type":
                response.headers[name] = value
        return response, status

    # The database went away, refused a connection, or gave up on a lock: nothing was
    # committed, so the caller may retry (with the same Idempotency-Key).
    @app.errorhandler(sa_exc.OperationalError)
    @app.errorhandler(sa_exc.InterfaceError)
    @app.errorhandler(psycopg.OperationalError)
    @app.errorhandler(psycopg.InterfaceError)
    def _database_unavailable(error: Exception) -> tuple[Response, int]:
        log.warning("database unavailable: %s", type(error).__name__)
        response, status = _answer(
            "database_unavailable", "the database is not reachable right now; try again", 503
        )
        response.headers["Retry-After"] = "1"
        return response, status

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> tuple[Response, int]:
        log.exception("unexpected error")
        return _answer("internal_error", "something went wrong on our side", 500)
