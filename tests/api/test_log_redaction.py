"""Request logs (Werkzeug's server, gunicorn's access log) never hold bearer path segments."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from types import SimpleNamespace

import pytest
import requests
from gunicorn.config import Config
from werkzeug.serving import make_server

from gateway.gunicorn_logging import RedactingLogger
from gateway.log_redaction import redact

SECRETS = ("dl-token-AbC_123", "consent-Tok_456", "enr_Secret789")
PATHS = (
    "/api/v1/passes/apple/dl-token-AbC_123.pkpass",
    "/api/v1/consents/consent-Tok_456",
    "/api/v1/consents/consent-Tok_456/withdraw",
    "/api/v1/enrollments/enr_Secret789/verify",
)


def test_redact_keeps_the_route_and_drops_the_token():
    assert redact("GET /api/v1/passes/apple/abc-DEF_1.pkpass HTTP/1.1") == (
        "GET /api/v1/passes/apple/….pkpass HTTP/1.1"
    )
    assert redact("/api/v1/enrollments/enr_x/verify") == "/api/v1/enrollments/…/verify"
    assert redact("POST /api/v1/enrollments HTTP/1.1") == "POST /api/v1/enrollments HTTP/1.1"


def test_werkzeug_request_log_has_no_tokens(app, caplog):
    caplog.set_level(logging.INFO, logger="werkzeug")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_port}"
        for path in PATHS:
            requests.get(base + path, timeout=10)
    finally:
        server.shutdown()
        thread.join(10)
        server.server_close()
    lines = [r.getMessage() for r in caplog.records if r.name == "werkzeug"]
    assert len([line for line in lines if "/api/v1/" in line]) == len(PATHS)
    logged = "\n".join(lines)
    assert "/api/v1/passes/apple/….pkpass" in logged
    for secret in SECRETS:
        assert secret not in logged


@pytest.mark.parametrize("path", PATHS)
def test_gunicorn_access_log_has_no_tokens(path, caplog):
    config = Config()
    config.set("accesslog", "-")
    config.set("access_log_format", '%(h)s "%(r)s" %(U)s %(f)s %({authorization}i)s %(s)s')
    logger = RedactingLogger(config)
    logger.access_log.propagate = True
    caplog.set_level(logging.INFO, logger="gunicorn.access")
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": path,
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_REFERER": f"https://gateway.test{path}",
    }
    request = SimpleNamespace(headers=[("AUTHORIZATION", "ApplePass web-service-token")])
    response = SimpleNamespace(status="200 OK", sent=10, headers=[])

    logger.access(response, request, environ, timedelta(milliseconds=3))

    logged = "\n".join(r.getMessage() for r in caplog.records if r.name == "gunicorn.access")
    assert "GET /api/v1/" in logged and "…" in logged
    for secret in (*SECRETS, "web-service-token"):
        assert secret not in logged
