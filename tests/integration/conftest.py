"""POS test helpers: stores and terminals made through the services, a till on the test client,
and the ledger invariants every POS test can check."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from gateway.models.ledger import LedgerEntry
from gateway.models.member import Account
from gateway.models.pos import Redemption, Store
from gateway.pos.terminals import create_store, create_terminal
from gateway.runtime import runtime
from tests.factories import demo_program

AUTO = "auto"


@dataclass
class Till:
    """A terminal of a store, talking to the gateway through the Flask test client."""

    client: FlaskClient
    key: str
    terminal_id: int
    store_code: str

    def headers(self, idempotency_key: str | None = AUTO) -> dict[str, str]:
        """Bearer auth, plus an Idempotency-Key (fresh unless given; None for none)."""
        headers = {"Authorization": f"Bearer {self.key}"}
        if idempotency_key == AUTO:
            headers["Idempotency-Key"] = uuid.uuid4().hex
        elif idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        return headers

    def post(
        self, path: str, body: Any = None, *, key: str | None = AUTO, data: bytes | None = None
    ) -> TestResponse:
        """POST /pos/v1<path> with JSON (or raw bytes)."""
        if data is not None:
            return self.client.post(
                f"/pos/v1{path}", data=data, headers=self.headers(key),
                content_type="application/json",
            )
        return self.client.post(f"/pos/v1{path}", json=body, headers=self.headers(key))

    def get(self, path: str) -> TestResponse:
        """GET /pos/v1<path>."""
        return self.client.get(f"/pos/v1{path}", headers=self.headers(None))

    def identify(self, scan: Any) -> TestResponse:
        """POST /identify (no idempotency key: it is optional there)."""
        return self.post("/identify", {"scan": scan}, key=None)

    def checkout(self, scan: str) -> str:
        """Identify and return the checkout token (asserts success)."""
        response = self.identify(scan)
        assert response.status_code == 200, response.json
        return str(response.json["checkout"]["token"])

    def redeem(self, checkout: str, key: str | None = AUTO, **body: Any) -> TestResponse:
        """POST /redemptions."""
        return self.post("/redemptions", {"checkout": checkout, **body}, key=key)

    def accrue(self, order: dict[str, Any], key: str | None = AUTO, **body: Any) -> TestResponse:
        """POST /accruals."""
        return self.post("/accruals", {"order": order, **body}, key=key)

    def refund(self, order: dict[str, Any], key: str | None = AUTO) -> TestResponse:
        """POST /refunds."""
        return self.post("/refunds", {"order": order}, key=key)


def new_till(app: Flask, store_code: str = "S1", client: FlaskClient | None = None) -> Till:
    """A new terminal (and its store, the first time) of the demo program."""
    demo_program(app)
    with app.app_context(), runtime(app).sessions() as session:
        if session.scalar(select(Store.id).where(Store.code == store_code)) is None:
            create_store(session, store_code, f"Store {store_code}", "demo")
        terminal, key = create_terminal(session, store_code, "till")
    return Till(client or app.test_client(), key, terminal.id, store_code)


@pytest.fixture
def till(app: Flask) -> Till:
    """A terminal of store S1."""
    return new_till(app)


def account_state(app: Flask, account_id: int) -> tuple[int, int]:
    """(balance, held) of an account."""
    with runtime(app).sessions() as session:
        account = session.get(Account, account_id)
        assert account is not None
        return account.balance, account.held


def assert_ledger_consistent(app: Flask) -> None:
    """For every account: ledger sums to balance and held, buckets hold the balance, no negatives;
    every redemption that moved points has its ledger row."""
    with runtime(app).sessions() as session:
        for account in session.scalars(select(Account)):
            points, held, remaining = session.execute(
                select(
                    func.coalesce(func.sum(LedgerEntry.points), 0),
                    func.coalesce(func.sum(LedgerEntry.held_change), 0),
                    func.coalesce(func.sum(LedgerEntry.remaining), 0),
                ).where(LedgerEntry.account_id == account.id)
            ).one()
            assert (points, held, remaining) == (account.balance, account.held, account.balance)
            assert 0 <= account.held <= account.balance
        for redemption in session.scalars(select(Redemption)):
            rows = session.scalar(
                select(func.count()).where(
                    LedgerEntry.reference == f"redemption:{redemption.public_id}"
                )
            )
            assert rows and rows >= 1, redemption.public_id


def race(count: int, call: Callable[[int], Any]) -> list[Any]:
    """Run call(i) in `count` threads released together; results in order."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def worker(index: int) -> None:
        barrier.wait()
        try:
            results[index] = call(index)
        except Exception as exc:  # surfaced by the assertions below
            results[index] = exc

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results
