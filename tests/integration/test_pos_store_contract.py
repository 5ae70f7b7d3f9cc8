"""The POS store contract: PostgreSQL's statements and the portable SQLAlchemy store must leave
the same rows, give the same answers and write the same events for the same till traffic.

The portable store runs on every database; on PostgreSQL both run, one after the other on the
same empty tables, and their normalised effects are compared field by field.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from gateway.models.card import WalletPass
from gateway.models.ledger import LedgerEntry
from gateway.models.member import Account
from gateway.models.outbox import AuditEvent, OutboxEvent
from gateway.models.pos import IdempotencyRecord, Redemption, UsedCode
from gateway.pos.store import PosStore
from gateway.pos.store_portable import PortablePosStore
from gateway.runtime import runtime
from tests.conftest import _empty_tables
from tests.factories import enroll_member
from tests.integration.conftest import assert_ledger_consistent, new_till

# Values that differ from run to run by design: random ids, tokens, times, row ids.
_VOLATILE = re.compile(r"^(rdm|co|evt)_[A-Za-z0-9_-]+$|^\d{4}-\d\d-\d\dT")
_DROPPED = {"id", "created_at", "used_at", "at", "next_attempt_at", "updated_at",
            "code_issued_at", "settled_at", "hold_expires_at", "expires_at", "event_id",
            "public_id", "response_body", "account_id", "card_id", "store_id", "terminal_id",
            "pass_id", "reference", "subject", "actor", "number", "card_number", "serial",
            "crm_member_id"}


def _normal(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _normal(v) for k, v in sorted(value.items()) if k not in _DROPPED}
    if isinstance(value, list):
        return [_normal(v) for v in value]
    if isinstance(value, str) and _VOLATILE.match(value):
        return "<volatile>"
    return value


def _rows(app: Flask, model: Any, *columns: str) -> list[dict[str, Any]]:
    with runtime(app).sessions() as session:
        rows = session.scalars(select(model).order_by(model.id)).all()
        return [_normal({c: getattr(row, c) for c in columns}) for row in rows]


def _scenario(app: Flask) -> dict[str, Any]:
    """Till traffic over every store path; the answers and the rows they left."""
    till = new_till(app)
    member = enroll_member(app, balance=1000)
    answers: list[tuple[int, Any]] = []

    def record(response: Any) -> Any:
        answers.append((response.status_code, _normal(response.json)))
        return response

    google = record(till.identify(member.google_scan())).json["checkout"]["token"]
    record(till.identify(member.google_scan()))  # re-scan: the same checkout
    apple = record(till.identify(member.apple_scan())).json["checkout"]["token"]
    record(till.identify(member.apple_scan()))  # re-scan: the same checkout
    record(till.redeem(google, key="k-1", reward_id="pastry"))
    record(till.redeem(google, key="k-1", reward_id="pastry"))  # replayed
    record(till.redeem(google, key="k-1", reward_id="coffee"))  # key reused
    record(till.redeem(apple, key="k-2", points=200, capture=False))  # a hold
    record(till.redeem(apple, key="k-3", points=5000))  # insufficient
    record(till.redeem(apple, points=50, key=None))  # no key: refused
    record(till.redeem(apple, key="k-5", points=50))
    record(till.redeem("co_forged", key="k-4", points=1))
    record(till.identify("nonsense"))
    assert_ledger_consistent(app)
    return {
        "answers": answers,
        "accounts": _rows(app, Account, "balance", "held", "lifetime_points"),
        "ledger": _rows(app, LedgerEntry, "kind", "points", "held_change", "remaining",
                        "order_id"),
        "redemptions": _rows(app, Redemption, "points", "status", "reward_id",
                             "discount_percent", "order_id", "returned_points"),
        "used_codes": _rows(app, UsedCode, "step"),
        "passes": _rows(app, WalletPass, "wallet", "code_counter", "update_tag"),
        "outbox": _rows(app, OutboxEvent, "kind", "payload", "attempts"),
        "audit": _rows(app, AuditEvent, "action", "details"),
        "keys": _rows(app, IdempotencyRecord, "key", "status", "response_status"),
    }


def _run_with(app: Flask, store: PosStore) -> dict[str, Any]:
    rt = runtime(app)
    chosen = rt.pos_store
    rt.pos_store = store
    try:
        return _scenario(app)
    finally:
        rt.pos_store = chosen
        _empty_tables(rt)


def _stores(app: Flask) -> dict[str, Callable[[], PosStore]]:
    rt = runtime(app)
    stores: dict[str, Callable[[], PosStore]] = {"portable": PortablePosStore}
    if rt.engine.dialect.name == "postgresql":
        from gateway.pos.store_postgres import PostgresPosStore

        stores["postgresql"] = lambda: PostgresPosStore(rt.engine)
    return stores


def test_start_up_chooses_the_store_of_the_database(app: Flask) -> None:
    rt = runtime(app)
    expected = "postgresql" if rt.engine.dialect.name == "postgresql" else "portable"
    assert rt.pos_store.name == expected


def test_every_store_leaves_the_expected_effects(app: Flask) -> None:
    for name, make in _stores(app).items():
        effects = _run_with(app, make())
        statuses = [status for status, _ in effects["answers"]]
        assert statuses == [200, 200, 200, 200, 201, 201, 422, 201, 409, 400, 201, 401, 400], name
        # 1000 - pastry 300 - 50; 200 held.
        assert effects["accounts"] == [
            {"balance": 650, "held": 200, "lifetime_points": 1000}
        ], name
        kinds = [row["kind"] for row in effects["ledger"]]
        assert kinds.count("redemption") == 2 and kinds.count("hold") == 1, name
        assert [row["status"] for row in effects["redemptions"]] == [
            "captured", "held", "captured"
        ], name
        assert len(effects["used_codes"]) == 2, name
        apple = next(p for p in effects["passes"] if p["wallet"] == "apple")
        assert apple["update_tag"] >= 1, name
        outbox = [row["kind"] for row in effects["outbox"]]
        assert outbox.count("pass.changed") == 1 and outbox.count("balance.changed") == 3, name
        assert [row["key"] for row in effects["keys"]] == ["k-1", "k-2", "k-5"], name


def test_postgresql_and_portable_stores_agree(app: Flask) -> None:
    stores = _stores(app)
    if "postgresql" not in stores:
        pytest.skip("the PostgreSQL store needs GATEWAY_TEST_DATABASE_URL on PostgreSQL")
    fast = _run_with(app, stores["postgresql"]())
    portable = _run_with(app, stores["portable"]())
    for part in fast:
        assert fast[part] == portable[part], part
