"""The database host goes away and comes back: tills get a coded 503 they may retry, never a
500, nothing is half-written, and the gateway serves again as soon as the database is back."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.engine import make_url

from gateway.runtime import runtime
from tests.factories import enroll_member
from tests.fakes.tcp_forwarder import TcpForwarder
from tests.integration.conftest import account_state, assert_ledger_consistent, new_till


@pytest.fixture
def forwarder(database_url: str) -> Iterator[TcpForwarder]:
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        pytest.skip("cutting the database's network needs a database server (PostgreSQL)")
    with TcpForwarder(url.host or "127.0.0.1", url.port or 5432) as proxy:
        yield proxy


@pytest.fixture
def proxied_app(forwarder, database_url, make_app):
    """A gateway whose database connections all go through the forwarder."""
    through_proxy = make_url(database_url).set(host="127.0.0.1", port=forwarder.port)
    return make_app(DATABASE_URL=through_proxy.render_as_string(hide_password=False))


def _assert_unavailable(response) -> None:
    assert response.status_code == 503, response.json
    assert response.json["error"]["code"] == "database_unavailable"
    assert response.headers["Retry-After"] == "1"


def test_pos_calls_answer_503_while_the_database_is_away_and_recover(forwarder, proxied_app):
    app = proxied_app
    till = new_till(app)
    member = enroll_member(app, balance=1000)
    checkout = till.checkout(member.google_scan())
    try:
        forwarder.cut()
        _assert_unavailable(till.identify(member.apple_scan()))
        _assert_unavailable(till.redeem(checkout, points=100))
        _assert_unavailable(
            till.client.get(f"/pos/v1/cards/{member.card_number}", headers=till.headers(None))
        )
    finally:
        forwarder.restore()
    # The Apple code was not used up by the failed attempt, and the first call after the
    # outage is served (the connections lost with the database were dropped).
    response = till.identify(member.apple_scan())
    assert response.status_code == 200, response.json
    assert till.redeem(checkout, points=100).status_code == 201
    assert account_state(app, member.account_id) == (900, 0)
    assert_ledger_consistent(app)


def test_identify_alone_recovers_at_once_after_the_database_comes_back(forwarder, proxied_app):
    app = proxied_app
    till = new_till(app)
    member = enroll_member(app, balance=10)
    engine = runtime(app).engine
    held = [engine.connect() for _ in range(3)]  # as concurrent requests leave them: idle
    for conn in held:
        conn.close()
    try:
        forwarder.cut()
        _assert_unavailable(till.identify(member.google_scan()))
    finally:
        forwarder.restore()
    # The idle connections died with the first: all are dropped, not tried one by one.
    assert till.identify(member.google_scan()).status_code == 200
