"""A till's last-seen time: written by its authenticated POS requests (the joined hot paths,
identify and redemptions, and every other endpoint), at most once a minute, and only when the
time read with the till is stale, so a request within the minute runs no extra statement."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event, update

from gateway.models.base import utcnow
from gateway.models.pos import Terminal
from gateway.pos import hot_sql
from gateway.pos.terminals import TerminalContext, touch
from gateway.runtime import runtime
from tests.factories import enroll_member
from tests.integration.conftest import Till, new_till


def _last_seen(app: Flask, till: Till) -> datetime | None:
    with runtime(app).sessions() as session:
        terminal = session.get(Terminal, till.terminal_id)
        assert terminal is not None
        return terminal.last_seen_at


def _set_last_seen(app: Flask, till: Till, when: datetime | None) -> None:
    with runtime(app).sessions() as session:
        session.execute(
            update(Terminal).where(Terminal.id == till.terminal_id).values(last_seen_at=when)
        )
        session.commit()


@contextmanager
def _touches(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every last-seen write (the conditional UPDATE of the terminals table) run meanwhile,
    through SQLAlchemy or the PostgreSQL store's prepared statements (observed, then run as
    usual)."""
    seen: list[str] = []

    def is_touch(statement: str) -> bool:
        return statement.lstrip().upper().startswith("UPDATE TERMINALS") and " OR " in statement

    engine = runtime(app).engine

    def on_execute(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if is_touch(statement):
            seen.append(statement)

    original = hot_sql.fetch_raw

    def fetch_raw(raw: Any, sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        if is_touch(sql):
            seen.append(sql)
        return original(raw, sql, params)

    event.listen(engine, "before_cursor_execute", on_execute)
    monkeypatch.setattr(hot_sql, "fetch_raw", fetch_raw)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", on_execute)


def test_identify_writes_last_seen_once_a_minute(app, monkeypatch):
    till = new_till(app)
    member = enroll_member(app, balance=100)
    assert _last_seen(app, till) is None
    before = utcnow()
    with _touches(app, monkeypatch) as touches:
        assert till.identify(member.google_scan()).status_code == 200
        first = _last_seen(app, till)
        assert first is not None and first >= before - timedelta(seconds=1)
        assert len(touches) == 1
        # Within the minute: no statement at all, and the time stays.
        assert till.identify(member.apple_scan()).status_code == 200
        assert till.get("/cards/1").status_code == 400
        assert len(touches) == 1
        assert _last_seen(app, till) == first

        stale = utcnow() - timedelta(minutes=2)
        _set_last_seen(app, till, stale)
        assert till.identify(member.apple_scan(member.apple_counter + 1)).status_code == 200
        assert len(touches) == 2
        assert _last_seen(app, till) > stale + timedelta(minutes=1)


def test_redemptions_and_other_endpoints_write_last_seen(app, monkeypatch):
    till = new_till(app)
    member = enroll_member(app, balance=1000)
    checkout = till.checkout(member.google_scan())
    _set_last_seen(app, till, None)
    with _touches(app, monkeypatch) as touches:
        assert till.redeem(checkout, reward_id="coffee").status_code == 201
        assert _last_seen(app, till) is not None
        assert len(touches) == 1
    _set_last_seen(app, till, None)
    with _touches(app, monkeypatch) as touches:
        # Authenticated before its handler runs (not a joined endpoint).
        assert till.get(f"/cards/{member.card_number}").status_code == 200
        assert _last_seen(app, till) is not None
        assert len(touches) == 1


def test_unknown_and_revoked_keys_write_nothing(app):
    till = new_till(app)
    other = Till(till.client, "gwt_not-a-key", till.terminal_id, till.store_code)
    assert other.get("/cards/1").status_code == 401
    assert _last_seen(app, till) is None


def test_the_write_is_conditional_so_workers_write_once_a_minute(app):
    """Two workers that both read a stale time: the second write changes nothing."""
    till = new_till(app)
    stale = TerminalContext(till.terminal_id, 0, till.store_code, 0, None, None)
    now = utcnow()
    engine = runtime(app).engine
    with engine.begin() as conn:
        touch(conn, stale, now)
    with engine.begin() as conn:
        touch(conn, stale, now + timedelta(seconds=30))
    assert _last_seen(app, till) == now
    with engine.begin() as conn:
        touch(conn, stale, now + timedelta(seconds=61))
    assert _last_seen(app, till) == now + timedelta(seconds=61)
