"""The POS client SDK: typed results, PosError mapping, and retries that reuse the
Idempotency-Key; against a small fake gateway that follows pos-api.md and injects every fault,
then against the real gateway on a local port behind a proxy that loses the first answer."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import func, select

from gateway.cli.pos_simulate import pos_group
from gateway.models.ledger import LedgerEntry
from gateway.models.member import Account
from gateway.models.pos import Redemption
from gateway.pos.terminals import create_store, create_terminal
from gateway.runtime import runtime
from pos_adapter.client import Order, PosClient, PosConnectionError, PosError
from tests.browser import served
from tests.factories import EnrolledMember, demo_program, enroll_member
from tests.fakes.smtp_server import free_port

KEY = "term_test_key"
CARD = "7000000000000019"


@dataclass
class Seen:
    """One request as the fake gateway received it."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class FakeGateway:
    """POS protocol v1 in memory, with a script of faults for the next requests.

    Faults: "drop" (apply the effect, then close without answering: the crash-after-commit
    case), "reset" (close without applying), "slow" (answer after 0.6 s), or a status tuple
    (status, code, headers) answered instead of the real thing.
    """

    url: str = ""
    balance: int = 2000
    held: int = 0
    faults: list[Any] = field(default_factory=list)
    seen: list[Seen] = field(default_factory=list)
    answers: dict[str, tuple[str, int, dict[str, Any]]] = field(default_factory=dict)
    redemptions: dict[str, dict[str, Any]] = field(default_factory=dict)
    accruals: dict[str, dict[str, Any]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def effects(self, path: str) -> int:
        """How many requests to `path` were really applied (replays excluded)."""
        return sum(1 for body, _, _ in self.answers.values() if body.startswith(path))

    def _balance(self) -> dict[str, int]:
        return {"points": self.balance, "held": self.held}

    def handle(self, method: str, path: str, body: Any) -> tuple[int, dict[str, Any]]:
        """The protocol itself (no auth or idempotency here)."""
        if path == "/pos/v1/identify":
            if not isinstance(body.get("scan"), str) or "-" not in body["scan"]:
                return _error(400, "malformed_scan")
            expires = (datetime.now(UTC) + timedelta(minutes=5)).isoformat()
            return 200, {
                "checkout": {"token": "chk_1", "expires_at": expires},
                "card": {"number": CARD, "wallet": "google", "status": "active"},
                "member": {"display_name": "Ana L.", "tier": "Gold"},
                "balance": self._balance(),
                "rewards": [{"id": "coffee", "name": "Free coffee", "cost_points": 500,
                             "available": True}],
            }
        if path == "/pos/v1/redemptions":
            if body.get("checkout") != "chk_1":
                return _error(401, "checkout_expired")
            points = 500 if body.get("reward_id") == "coffee" else body.get("points")
            if not isinstance(points, int) or points <= 0:
                return _error(422, "validation_error", field="points")
            if points > self.balance - self.held:
                return _error(409, "insufficient_points")
            held = body.get("capture") is False
            if held:
                self.held += points
            else:
                self.balance -= points
            rid = f"rdm_{len(self.redemptions) + 1}/x"
            self.redemptions[rid] = {"id": rid, "status": "held" if held else "captured",
                                     "points": points}
            if "reward_id" in body:
                self.redemptions[rid]["reward"] = {"id": "coffee", "name": "Free coffee"}
            return 201, {"redemption": self.redemptions[rid], "balance": self._balance()}
        for action in ("capture", "void"):
            prefix, suffix = "/pos/v1/redemptions/", f"/{action}"
            if path.startswith(prefix) and path.endswith(suffix):
                rid = path[len(prefix):-len(suffix)].replace("%2F", "/")
                redemption = self.redemptions.get(rid)
                if redemption is None:
                    return _error(404, "not_found")
                if redemption["status"] == "held":
                    self.held -= redemption["points"]
                    if action == "capture":
                        self.balance -= redemption["points"]
                elif action == "void" and redemption["status"] == "captured":
                    self.balance += redemption["points"]
                redemption["status"] = "captured" if action == "capture" else "voided"
                return 200, {"redemption": redemption, "balance": self._balance()}
        if path == "/pos/v1/accruals":
            order = body["order"]
            if order["id"] in self.accruals:
                return 200, {"accrual": self.accruals[order["id"]], "balance": self._balance()}
            points = int(Decimal(str(order["total"])))
            self.balance += points
            self.accruals[order["id"]] = {"id": f"acr_{order['id']}", "points": points}
            return 201, {"accrual": self.accruals[order["id"]], "balance": self._balance()}
        if path == "/pos/v1/refunds":
            if body["order"]["id"] not in self.accruals:
                return _error(404, "not_found")
            return 201, {"refund": {"id": "rfd_1", "points_reversed": 6},
                         "balance": self._balance()}
        if method == "GET" and path == f"/pos/v1/cards/{CARD}":
            return 200, {"card": {"number": CARD, "status": "active"},
                         "member": {"display_name": "Ana L.", "tier": "Gold"},
                         "balance": self._balance()}
        return _error(404, "not_found")

    def answer(self, method: str, path: str, headers: dict[str, str], raw: bytes) -> Any:
        """Auth, then Stripe-style idempotency around `handle`."""
        body = json.loads(raw) if raw else {}
        if headers.get("Authorization") != f"Bearer {KEY}":
            return _error(401, "unauthorized")
        key = headers.get("Idempotency-Key")
        if method == "POST" and key is None:
            return _error(400, "idempotency_key_missing")
        fingerprint = f"{path} {json.dumps(body, sort_keys=True)}"
        if key is not None and key in self.answers:
            stored_fingerprint, status, stored = self.answers[key]
            if stored_fingerprint != fingerprint:
                return _error(422, "idempotency_key_reused")
            return status, stored
        status, answer = self.handle(method, path, body)
        if key is not None and status < 500:
            self.answers[key] = (fingerprint, status, answer)
        return status, answer


def _error(status: int, code: str, **extra: Any) -> tuple[int, dict[str, Any]]:
    return status, {"error": {"code": code, "message": f"fake {code}", **extra}}


def _serve(gateway: FakeGateway) -> tuple[ThreadingHTTPServer, str]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            return

        def _reply(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(status)
            content_type = "text/html" if isinstance(body, bytes) else "application/json"
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def _drop(self) -> None:
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)

        def _any(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            headers = {name: value for name, value in self.headers.items()}
            with gateway.lock:
                gateway.seen.append(
                    Seen(self.command, self.path, headers, json.loads(raw) if raw else None)
                )
                fault = gateway.faults.pop(0) if gateway.faults else None
                if fault == "reset":
                    self._drop()
                    return
                if isinstance(fault, tuple):
                    status, code, extra_headers = fault
                    if code is None:
                        self._reply(status, b"<html>Bad gateway</html>", extra_headers)
                    else:
                        self._reply(status, _error(status, code)[1], extra_headers)
                    return
                status, body = gateway.answer(self.command, self.path, headers, raw)
            if fault == "drop":
                self._drop()
                return
            if fault == "slow":
                time.sleep(0.6)
            try:
                self._reply(status, body)
            except OSError:
                self.close_connection = True

        do_GET = do_POST = _any

    class Server(ThreadingHTTPServer):
        daemon_threads = True

        def handle_error(self, request: Any, client_address: Any) -> None:
            return  # the client hung up on purpose (timeouts, drops)

    server = Server(("127.0.0.1", 0), Handler)
    return server, f"http://127.0.0.1:{server.server_address[1]}"


@pytest.fixture
def gateway() -> Iterator[FakeGateway]:
    fake = FakeGateway()
    server, url = _serve(fake)
    fake.url = url
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield fake
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def pos(gateway: FakeGateway, sleeps: list[float]) -> Iterator[PosClient]:
    client = PosClient(gateway.url, KEY, timeout=0.3, max_retries=3, backoff=0.01)
    client._sleep = sleeps.append  # record the pauses instead of taking them
    with client:
        yield client


def _keys(gateway: FakeGateway, path: str) -> list[str]:
    return [seen.headers["Idempotency-Key"] for seen in gateway.seen if seen.path == path]


# --- the happy path, typed -------------------------------------------------------------------


def test_identify_redeem_accrue_refund_card_are_typed(pos: PosClient, gateway: FakeGateway):
    found = pos.identify(f"{CARD}-12345678")
    assert found.checkout.token == "chk_1"
    assert found.checkout.expires_at > datetime.now(UTC)
    assert (found.card.number, found.card.wallet, found.card.status) == (CARD, "google", "active")
    assert (found.member.display_name, found.member.tier) == ("Ana L.", "Gold")
    assert (found.balance.points, found.balance.held, found.balance.available) == (2000, 0, 2000)
    assert [(r.id, r.cost_points, r.available) for r in found.rewards] == [("coffee", 500, True)]

    order = Order("A-1", Decimal("12.50"), "EUR")
    redeemed = pos.redeem("chk_1", reward_id="coffee", order=order)
    assert redeemed.redemption.status == "captured"
    assert redeemed.redemption.points == 500
    assert redeemed.redemption.reward == {"id": "coffee", "name": "Free coffee"}
    assert redeemed.balance.points == 1500
    sent = gateway.seen[-1]
    assert sent.body == {"checkout": "chk_1", "capture": True, "reward_id": "coffee",
                         "order": {"id": "A-1", "total": "12.50", "currency": "EUR"}}

    accrued = pos.accrue(order, checkout="chk_1")
    assert (accrued.accrual.points, accrued.repeated, accrued.balance.points) == (12, False, 1512)
    again = pos.accrue({"id": "A-1", "total": Decimal("12.50"), "currency": "EUR"},
                       card_number=CARD)
    assert (again.accrual, again.repeated) == (accrued.accrual, True)
    assert gateway.seen[-1].body == {"order": {"id": "A-1", "total": "12.50", "currency": "EUR"},
                                     "card_number": CARD}

    refunded = pos.refund("A-1", Decimal("6.25"), refund_id="r1")
    assert refunded.refund == {"id": "rfd_1", "points_reversed": 6}
    assert gateway.seen[-1].body == {"order": {"id": "A-1", "refund_total": "6.25",
                                               "refund_id": "r1"}}

    card = pos.card(CARD)
    assert card.card.number == CARD and card.member is not None and card.balance.points == 1512
    assert gateway.seen[-1].method == "GET" and "Idempotency-Key" not in gateway.seen[-1].headers

    for seen in gateway.seen:
        assert seen.headers["Authorization"] == f"Bearer {KEY}"
    posts = [seen.headers["Idempotency-Key"] for seen in gateway.seen if seen.method == "POST"]
    assert len(posts) == len(set(posts)) == 5, "one fresh key per logical call"


def test_hold_capture_and_void_quote_the_redemption_id(pos: PosClient, gateway: FakeGateway):
    held = pos.redeem("chk_1", points=300, capture=False)
    assert held.redemption.status == "held"
    assert (held.balance.points, held.balance.held) == (2000, 300)
    captured = pos.capture(held.redemption.id)
    assert gateway.seen[-1].path == "/pos/v1/redemptions/rdm_1%2Fx/capture"
    assert captured.redemption.status == "captured"
    assert (captured.balance.points, captured.balance.held) == (1700, 0)
    voided = pos.void(held.redemption.id, idempotency_key="void-1")
    assert voided.redemption.status == "voided" and voided.balance.points == 2000
    assert gateway.seen[-1].headers["Idempotency-Key"] == "void-1"


def test_base_url_may_name_the_api_prefix(gateway: FakeGateway):
    with PosClient(f"{gateway.url}/pos/v1/", KEY) as client:
        assert client.card(CARD).card.number == CARD


def test_arguments_are_checked_before_sending(pos: PosClient, gateway: FakeGateway):
    with pytest.raises(ValueError, match="exactly one"):
        pos.redeem("chk_1", reward_id="coffee", points=5)
    with pytest.raises(ValueError, match="exactly one"):
        pos.redeem("chk_1")
    with pytest.raises(ValueError, match="exactly one"):
        pos.accrue(Order("A", 1, "EUR"))
    assert gateway.seen == []


# --- retries reuse the key -----------------------------------------------------------------


def test_answer_lost_after_the_effect_is_retried_with_the_same_key(
    pos: PosClient, gateway: FakeGateway
):
    gateway.faults = ["drop"]
    result = pos.redeem("chk_1", points=100)
    keys = _keys(gateway, "/pos/v1/redemptions")
    assert len(keys) == 2 and keys[0] == keys[1]
    assert gateway.effects("/pos/v1/redemptions") == 1
    assert result.balance.points == gateway.balance == 1900


@pytest.mark.parametrize(
    "fault",
    ["reset", "slow", (500, "internal_error", {}), (502, None, {}), (503, "unavailable", {}),
     (409, "idempotency_in_progress", {})],
    ids=["reset", "timeout", "500", "502-html", "503", "409-in-progress"],
)
def test_transient_failures_are_retried_with_the_same_key(
    pos: PosClient, gateway: FakeGateway, sleeps: list[float], fault: Any
):
    gateway.faults = [fault, fault]
    result = pos.redeem("chk_1", points=100, order=Order("A-9"))
    keys = _keys(gateway, "/pos/v1/redemptions")
    assert len(keys) == 3 and len(set(keys)) == 1
    assert len(sleeps) == 2 and sleeps[1] > sleeps[0] > 0, "exponential backoff"
    assert gateway.effects("/pos/v1/redemptions") == 1
    assert result.balance.points == 1900


def test_rate_limit_waits_for_retry_after(
    pos: PosClient, gateway: FakeGateway, sleeps: list[float]
):
    gateway.faults = [(429, "rate_limited", {"Retry-After": "2"})]
    pos.accrue(Order("A-2", "3.00", "EUR"), card_number=CARD)
    assert sleeps == [2.0]
    assert len(set(_keys(gateway, "/pos/v1/accruals"))) == 1


def test_retries_give_up_after_max_retries(pos: PosClient, gateway: FakeGateway):
    gateway.faults = [(503, "unavailable", {"Retry-After": "0"})] * 10
    with pytest.raises(PosError) as caught:
        pos.redeem("chk_1", points=100)
    assert (caught.value.code, caught.value.status) == ("unavailable", 503)
    assert caught.value.retry_after == 0.0
    keys = _keys(gateway, "/pos/v1/redemptions")
    assert len(keys) == 4 and len(set(keys)) == 1


def test_unreachable_gateway_raises_connection_error(sleeps: list[float]):
    with PosClient(f"http://127.0.0.1:{free_port()}", KEY, max_retries=2) as client:
        client._sleep = sleeps.append
        with pytest.raises(PosConnectionError) as caught:
            client.identify(f"{CARD}-12345678")
    assert (caught.value.code, caught.value.status) == ("connection_error", 0)
    assert len(sleeps) == 2


def test_same_explicit_key_with_another_body_is_refused(pos: PosClient, gateway: FakeGateway):
    pos.redeem("chk_1", points=100, idempotency_key="k-1")
    replay = pos.redeem("chk_1", points=100, idempotency_key="k-1")
    assert replay.balance.points == 1900 and gateway.effects("/pos/v1/redemptions") == 1
    with pytest.raises(PosError) as caught:
        pos.redeem("chk_1", points=200, idempotency_key="k-1")
    assert (caught.value.code, caught.value.status) == ("idempotency_key_reused", 422)


# --- errors map to PosError, and are not retried ------------------------------------------


@pytest.mark.parametrize(
    ("call", "code", "status", "field_name"),
    [
        (lambda pos: pos.identify("garbage"), "malformed_scan", 400, None),
        (lambda pos: pos.redeem("expired", points=5), "checkout_expired", 401, None),
        (lambda pos: pos.redeem("chk_1", points=99_999), "insufficient_points", 409, None),
        (lambda pos: pos.redeem("chk_1", points=-5), "validation_error", 422, "points"),
        (lambda pos: pos.capture("nope"), "not_found", 404, None),
        (lambda pos: pos.refund("never-sold", "1.00"), "not_found", 404, None),
    ],
    ids=["malformed", "expired", "insufficient", "validation", "unknown-redemption", "refund"],
)
def test_contract_errors_become_pos_errors(
    pos: PosClient, gateway: FakeGateway, call: Any, code: str, status: int,
    field_name: str | None,
):
    with pytest.raises(PosError) as caught:
        call(pos)
    error = caught.value
    assert (error.code, error.status, error.field) == (code, status, field_name)
    assert error.message == f"fake {code}"
    assert error.body["error"]["code"] == code
    assert len(gateway.seen) == 1, "a contract error is final: no retry"


def test_wrong_terminal_key_is_unauthorized(gateway: FakeGateway):
    with PosClient(gateway.url, "wrong") as client, pytest.raises(PosError) as caught:
        client.card(CARD)
    assert (caught.value.code, caught.value.status) == ("unauthorized", 401)


def test_non_json_error_page_maps_to_http_error(pos: PosClient, gateway: FakeGateway):
    gateway.faults = [(418, None, {})]
    with pytest.raises(PosError) as caught:
        pos.card(CARD)
    assert (caught.value.code, caught.value.status) == ("http_error", 418)
    assert "Bad gateway" in caught.value.message


# --- the till simulator drives the same client ---------------------------------------------


def test_simulator_identifies_redeems_accrues_and_shows_the_balance(gateway: FakeGateway):
    args = ["simulate", "--url", gateway.url, "--key", KEY, "--scan", f"{CARD}-12345678"]
    result = CliRunner().invoke(pos_group, [*args, "--reward", "coffee", "--order-total", "20"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith(f"identify  card {CARD} (google, active) - Ana L., tier Gold")
    assert any(line.startswith("redeem    rdm_1/x captured: 500 points (reward coffee)")
               for line in lines)
    assert any(line.startswith("accrue    order sim-") and "+20 points" in line for line in lines)
    assert lines[-1] == "balance   1520 points (0 held, 1520 available)"
    redemption = next(seen for seen in gateway.seen if seen.path == "/pos/v1/redemptions")
    accrual = next(seen for seen in gateway.seen if seen.path == "/pos/v1/accruals")
    assert redemption.body["order"]["id"] == accrual.body["order"]["id"]
    assert accrual.body["checkout"] == "chk_1"

    held = CliRunner().invoke(pos_group, [*args, "--points", "100", "--hold", "--json"])
    assert held.exit_code == 0, held.output
    report = json.loads(held.output)
    assert report["redeem"]["redemption"]["status"] == "held"
    assert report["capture"]["redemption"]["status"] == "captured"
    assert report["card"]["balance"] == {"points": 1420 + 12, "held": 0}

    both = CliRunner().invoke(pos_group, [*args, "--points", "1", "--reward", "coffee"])
    assert both.exit_code == 2 and "not both" in both.output
    refused = CliRunner().invoke(pos_group, [*args[:4], "wrong", *args[5:]])
    assert refused.exit_code == 1
    assert "identify failed: unauthorized (HTTP 401)" in refused.output


# --- the real gateway, on a real port, behind a proxy that loses answers --------------------


@dataclass
class Proxy:
    """Forwards to the gateway; a fault "lose" forwards, then hangs up without the answer
    (the gateway did the work, the till never heard), "fail" answers 500 without forwarding."""

    upstream_port: int
    faults: list[str] = field(default_factory=list)
    log: list[tuple[str, str, str | None, int | None, str | None]] = field(default_factory=list)
    url: str = ""

    def keys(self, path_part: str) -> list[str | None]:
        return [key for _, path, key, _, _ in self.log if path_part in path]


def _proxy_handler(proxy: Proxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            return

        def _any(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            key = self.headers.get("Idempotency-Key")
            fault = proxy.faults.pop(0) if proxy.faults else None
            if fault == "fail":
                proxy.log.append((self.command, self.path, key, None, None))
                data = b'{"error": {"code": "internal_error", "message": "proxy"}}'
                self.send_response(500)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                return
            upstream = http.client.HTTPConnection("127.0.0.1", proxy.upstream_port, timeout=10)
            try:
                headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
                upstream.request(self.command, self.path, body=body, headers=headers)
                answer = upstream.getresponse()
                data = answer.read()
            finally:
                upstream.close()
            replayed = answer.getheader("Idempotent-Replayed")
            proxy.log.append((self.command, self.path, key, answer.status, replayed))
            if fault == "lose":
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            self.send_response(answer.status)
            for name, value in answer.getheaders():
                if name.lower() not in ("connection", "transfer-encoding", "server", "date"):
                    self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _any

    return Handler


@dataclass
class LiveGateway:
    """The app on a port, a terminal key, a member with both passes, and the proxy."""

    app: Flask
    key: str
    member: EnrolledMember
    proxy: Proxy

    def client(self, **options: Any) -> PosClient:
        options.setdefault("backoff", 0.01)
        return PosClient(self.proxy.url, self.key, **options)

    def count(self, query: Any) -> int:
        with runtime(self.app).sessions() as session:
            return int(session.scalar(query) or 0)


@pytest.fixture
def live(app: Flask) -> Iterator[LiveGateway]:
    demo_program(app)
    member = enroll_member(app, balance=2000, tier="Gold")
    with app.app_context(), runtime(app).sessions() as session:
        create_store(session, "S1", "Main street", "demo")
        _, key = create_terminal(session, "S1", "till 1")
    port = free_port()
    with served(app, port):
        proxy = Proxy(port)
        server = ThreadingHTTPServer(("127.0.0.1", 0), _proxy_handler(proxy))
        server.daemon_threads = True
        proxy.url = f"http://127.0.0.1:{server.server_address[1]}"
        thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
        thread.start()
        try:
            yield LiveGateway(app, key, member, proxy)
        finally:
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)


def test_lost_answer_is_retried_with_the_same_key_and_has_one_effect(live: LiveGateway):
    with live.client() as pos:
        found = pos.identify(live.member.apple_scan())
        assert found.card.wallet == "apple" and found.balance.points == 2000
        assert {reward.id for reward in found.rewards} >= {"coffee", "pastry", "mug"}

        live.proxy.faults = ["lose"]
        order = Order("T-1", Decimal("12.50"), "EUR")
        redeemed = pos.redeem(found.checkout.token, reward_id="coffee", order=order)
        assert redeemed.redemption.status == "captured" and redeemed.redemption.points == 500
        assert redeemed.balance.points == 1500
        attempts = [entry for entry in live.proxy.log if entry[1] == "/pos/v1/redemptions"]
        assert [(status, replayed) for *_, status, replayed in attempts] == [
            (201, None), (201, "true")
        ]
        assert len(set(live.proxy.keys("/pos/v1/redemptions"))) == 1

        live.proxy.faults = ["fail", "lose"]
        accrued = pos.accrue(order, checkout=found.checkout.token)
        assert not accrued.repeated and accrued.accrual.points > 0
        assert [status for _, path, *_, status, _ in live.proxy.log if "accruals" in path] == [
            None, 201, 201
        ]
        assert len(set(live.proxy.keys("/pos/v1/accruals"))) == 1
        again = pos.accrue(order, card_number=found.card.number)
        assert again.repeated and again.accrual == accrued.accrual

        card = pos.card(found.card.number)
        assert card.balance == accrued.balance

    account = select(Account.balance).where(Account.id == live.member.account_id)
    ledger = select(func.sum(LedgerEntry.points)).where(
        LedgerEntry.account_id == live.member.account_id
    )
    assert live.count(select(func.count()).select_from(Redemption)) == 1
    assert live.count(account) == live.count(ledger) == 1500 + accrued.accrual.points


def test_two_phase_hold_capture_void_and_refund(live: LiveGateway):
    with live.client() as pos:
        found = pos.identify(live.member.apple_scan())
        held = pos.redeem(found.checkout.token, points=300, capture=False,
                          order=Order("T-2"))
        assert held.redemption.status == "held"
        assert (held.balance.points, held.balance.held) == (2000, 300)
        live.proxy.faults = ["lose"]
        captured = pos.capture(held.redemption.id)
        assert captured.redemption.status == "captured" and captured.balance.points == 1700
        voided = pos.void(held.redemption.id)
        assert voided.redemption.status == "voided" and voided.balance.points == 2000
        with pytest.raises(PosError) as caught:
            pos.capture(held.redemption.id)
        assert (caught.value.code, caught.value.status) == ("redemption_voided", 409)

        pos.accrue(Order("T-3", "40.00", "EUR"), card_number=found.card.number)
        refunded = pos.refund("T-3", "20.00")
        assert refunded.refund["points_reversed"] > 0
        repeat = pos.refund("T-3", Decimal("20.00"))
        assert repeat.refund["id"] == refunded.refund["id"]
        assert repeat.balance == refunded.balance


def test_gateway_errors_map_to_pos_errors(live: LiveGateway):
    def code_of(call: Any) -> tuple[str, int]:
        with pytest.raises(PosError) as caught:
            call()
        assert caught.value.message
        return caught.value.code, caught.value.status

    scan = live.member.apple_scan()
    with live.client() as pos:
        assert code_of(lambda: pos.identify("not a scan")) == ("malformed_scan", 400)
        found = pos.identify(scan)
        other = PosClient(live.proxy.url, "gwt_unknown", backoff=0)
        with other:
            assert code_of(lambda: other.identify(scan)) == ("unauthorized", 401)
        assert code_of(lambda: pos.redeem("co_nope", points=5)) == ("checkout_expired", 401)
        token = found.checkout.token
        assert code_of(lambda: pos.redeem(token, points=5000)) == ("insufficient_points", 409)
        assert code_of(lambda: pos.redeem(token, reward_id="yacht")) == ("not_found", 404)
        pos.redeem(token, points=10, idempotency_key="same-key")
        assert code_of(lambda: pos.redeem(token, points=11, idempotency_key="same-key")) == (
            "idempotency_key_reused", 422
        )
        assert code_of(lambda: pos.refund("never-sold", "1.00")) == ("not_found", 404)
        assert code_of(lambda: pos.card("1234567812345678")) == ("malformed_scan", 400)
        with pytest.raises(PosError) as caught:
            pos.accrue(Order("T-4", "-1", "EUR"), card_number=found.card.number)
        assert (caught.value.code, caught.value.field) == ("validation_error", "order.total")
    assert len(live.proxy.log) == 11, "one attempt per call: contract errors are not retried"
