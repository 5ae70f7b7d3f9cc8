"""Slow clients cannot stall the production set-up: nginx (deploy/nginx.conf) reads bodies that
arrive a byte at a time, gunicorn's 8 threads stay free for /healthz and the tills."""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import threading
import time
from pathlib import Path

import pytest

from tests.factories import enroll_member
from tests.fakes.tls_certs import localhost_server_certificate
from tests.integration.conftest import new_till
from tests.integration.production_stack import NGINX, Stack, free_port, production_stack

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not NGINX.exists(), reason="Debian's nginx is not installed (scripts/test)"),
]

SLOW_CLIENTS = 64
DRIP_SECONDS = 2.0
HSTS = "max-age=31536000; includeSubDomains"


class SlowBodies:
    """Connections that declare a 1000-byte enrollment body and send it a byte every 2 s."""

    def __init__(self, port: int, tls: ssl.SSLContext | None) -> None:
        self.sockets: list[socket.socket] = []
        for _ in range(SLOW_CLIENTS):
            sock: socket.socket = socket.create_connection(("127.0.0.1", port), timeout=10)
            if tls is not None:
                sock = tls.wrap_socket(sock, server_hostname="127.0.0.1")
            sock.sendall(
                b"POST /api/v1/enrollments HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"
            )
            self.sockets.append(sock)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._drip, daemon=True)
        self._thread.start()

    def _drip(self) -> None:
        while not self._stop.wait(DRIP_SECONDS):
            for sock in self.sockets:
                with contextlib.suppress(OSError):  # a closed one is seen by still_waiting
                    sock.sendall(b" ")

    def still_waiting(self) -> int:
        """How many were neither answered nor closed (stops the drip)."""
        self._stop.set()
        self._thread.join()
        waiting = 0
        for sock in self.sockets:
            sock.setblocking(False)
            try:
                sock.recv(1)
            except (ssl.SSLWantReadError, BlockingIOError):
                waiting += 1
            except OSError:
                pass
        return waiting

    def close(self) -> None:
        """Stop dripping and close every connection."""
        self._stop.set()
        self._thread.join()
        for sock in self.sockets:
            sock.close()


def _timed(connection_method: str, stack: Stack, method: str, path: str,
           body: dict[str, str] | None = None, headers: dict[str, str] | None = None,
           timeout: float = 1.0) -> tuple[int, dict[str, object], float, list[str]]:
    """(status, JSON body, seconds, HSTS headers) of one request with a fresh connection."""
    conn = getattr(stack, connection_method)(timeout)
    started = time.monotonic()
    try:
        data = None if body is None else json.dumps(body)
        all_headers = {"Content-Type": "application/json", **(headers or {})}
        conn.request(method, path, body=data, headers=all_headers)
        response = conn.getresponse()
        payload = json.loads(response.read())
        hsts = response.headers.get_all("Strict-Transport-Security") or []
        return response.status, payload, time.monotonic() - started, hsts
    finally:
        conn.close()


def test_slow_bodies_stall_gunicorn_alone_but_not_behind_nginx(
    make_app, database_url: str, instance_dir: Path, key_ring: str, tmp_path: Path
) -> None:
    app = make_app()
    till = new_till(app)
    member = enroll_member(app, balance=100)
    env = {
        "GATEWAY_ENV": "production",
        "GATEWAY_DATABASE_URL": database_url,
        "GATEWAY_INSTANCE_PATH": str(instance_dir),
        "GATEWAY_SECRET_KEYS": key_ring,
        "GATEWAY_SECRET_KEY": "test-secret",
        "GATEWAY_PUBLIC_BASE_URL": "https://gateway.test",
        "GATEWAY_NOTIFIER": "smtp",
        "GATEWAY_SMTP_PORT": str(free_port()),
    }
    cert = localhost_server_certificate(tmp_path)
    auth = {"Authorization": f"Bearer {till.key}"}
    with production_stack(tmp_path, cert, env) as stack:
        # Both workers up and warm (one identify on a code the check below does not use).
        for _ in range(6):
            status, _, _, hsts = _timed("https", stack, "GET", "/healthz", timeout=30)
            assert status == 200
            assert hsts == [HSTS]  # nginx's, the app's own replaced rather than doubled
        status, _, _, _ = _timed(
            "https", stack, "POST", "/pos/v1/identify", {"scan": member.google_scan()}, auth, 30
        )
        assert status == 200

        # gunicorn takes the scheme from nginx's X-Forwarded-Proto.
        status, payload, _, _ = _timed("https", stack, "GET", "/pos/v1/openapi.json", timeout=10)
        assert status == 200
        assert payload["servers"][0]["url"].startswith("https://")  # type: ignore[index]

        # A body above the app's cap is refused by nginx in the gateway's error shape.
        status, payload, _, _ = _timed(
            "https", stack, "POST", "/api/v1/enrollments", {"x": "y" * 70_000}, timeout=10
        )
        assert (status, payload["error"]["code"]) == (413, "payload_too_large")  # type: ignore[index]

        slow = SlowBodies(stack.nginx_port, stack.tls)
        try:
            time.sleep(DRIP_SECONDS + 0.5)
            status, payload, seconds, _ = _timed("https", stack, "GET", "/healthz")
            assert (status, payload) == (200, {"status": "ok"})
            assert seconds < 1.0
            status, payload, seconds, _ = _timed(
                "https", stack, "POST", "/pos/v1/identify", {"scan": member.apple_scan()}, auth
            )
            assert status == 200, payload
            assert payload["card"]["number"] == member.card_number  # type: ignore[index]
            assert seconds < 1.0
            assert slow.still_waiting() == SLOW_CLIENTS  # they were held, not turned away
        finally:
            slow.close()

        # The same clients straight at gunicorn take every thread: /healthz waits.
        slow = SlowBodies(stack.gunicorn_port, None)
        try:
            time.sleep(1.0)
            with pytest.raises(TimeoutError):
                _timed("direct", stack, "GET", "/healthz", timeout=3.0)
        finally:
            slow.close()
