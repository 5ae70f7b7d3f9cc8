"""Operator commands: stores, terminal keys shown once, revoke by prefix, list."""

from sqlalchemy import select

from gateway.models.pos import Terminal
from gateway.runtime import runtime
from tests.factories import demo_program
from tests.integration.conftest import Till


def _run(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


def test_store_and_terminal_lifecycle(app):
    demo_program(app)
    created = _run(app, "stores", "create", "MAIN", "--name", "Main street")
    assert created.exit_code == 0, created.output
    assert _run(app, "stores", "create", "MAIN").exit_code != 0
    assert _run(app, "terminals", "create", "--store", "NOPE").exit_code != 0

    result = _run(app, "terminals", "create", "--store", "MAIN", "--name", "till 1")
    assert result.exit_code == 0, result.output
    key = result.output.strip().splitlines()[-1]
    assert key.startswith("gwt_") and len(key) > 40
    with runtime(app).sessions() as session:
        terminal = session.scalar(select(Terminal))
    assert terminal.key_hash != key and key not in terminal.key_prefix + terminal.key_hash
    till = Till(app.test_client(), key, terminal.id, "MAIN")
    assert till.get("/cards/1").status_code == 400  # authenticated: the number is what is wrong

    listing = _run(app, "terminals", "list")
    assert terminal.key_prefix in listing.output
    assert key not in listing.output
    assert "active" in listing.output

    revoked = _run(app, "terminals", "revoke", terminal.key_prefix)
    assert revoked.exit_code == 0, revoked.output
    assert till.get("/cards/1").status_code == 401
    assert "revoked" in _run(app, "terminals", "list").output
    assert _run(app, "terminals", "revoke", "gwt_unknown").exit_code != 0


def test_idempotency_purge_command(app):
    result = _run(app, "idempotency", "purge")
    assert result.exit_code == 0
    assert "deleted 0 record(s)" in result.output
