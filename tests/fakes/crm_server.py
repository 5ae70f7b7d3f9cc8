"""A small REST CRM in a thread: the contract of gateway.adapters.crm_http, with signed events."""

from __future__ import annotations

import itertools
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlparse

from gateway.adapters.webhook_signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify


class FakeCrm:
    """Members in a dict; events verified with the webhook secret and deduped by event id."""

    def __init__(self, webhook_secret: str = "crm-webhook-secret") -> None:
        self.secret = webhook_secret
        self.members: dict[str, dict[str, Any]] = {}
        self.events: dict[str, dict[str, Any]] = {}
        self.rejected_events = 0
        self.down = False
        self._ids = itertools.count(1000)
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def add_member(self, **fields: Any) -> dict[str, Any]:
        """Seed an existing member (returns the record)."""
        member = {"id": str(next(self._ids)), "balance": 0, "tier": "", "discount_percent": 0}
        member.update(fields)
        self.members[member["id"]] = member
        return member

    def __enter__(self) -> FakeCrm:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        crm = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return

            def _send(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                if crm.down:
                    return self._send(503, {"error": "down"})
                url = urlparse(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                hits = [
                    m
                    for m in crm.members.values()
                    if m.get("program", query.get("program")) == query.get("program")
                    and any(
                        m.get(k) == query[k]
                        for k in ("email", "phone", "card_number")
                        if k in query
                    )
                ]
                self._send(200, {"members": hits})

            def do_POST(self) -> None:
                if crm.down:
                    return self._send(503, {"error": "down"})
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.path == "/members":
                    data = json.loads(body)
                    with crm._lock:
                        member = crm.add_member(
                            program=data["program"],
                            email=data.get("email"),
                            phone=data.get("phone"),
                            name=data.get("name", ""),
                            card_number=None,
                            consents=data.get("consents"),
                        )
                    return self._send(201, member)
                if self.path == "/events":
                    ok = verify(
                        crm.secret,
                        self.headers.get(TIMESTAMP_HEADER, ""),
                        self.headers.get(SIGNATURE_HEADER, ""),
                        body,
                    )
                    if not ok:
                        crm.rejected_events += 1
                        return self._send(401, {"error": "bad signature"})
                    event = json.loads(body)
                    crm.events.setdefault(event["event_id"], event)
                    return self._send(200, {"ok": True})
                self._send(404, {"error": "not found"})

        return Handler
