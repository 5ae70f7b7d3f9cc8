"""`gateway api-keys create|list|revoke`: the key printed once, listed by prefix, revoked."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select

from gateway.models.api_key import ApiKey
from gateway.runtime import runtime
from tests.console_helpers import audits


def stored_keys(app: Flask) -> list[ApiKey]:
    with runtime(app).sessions() as session:
        rows = list(session.scalars(select(ApiKey).order_by(ApiKey.id)))
        session.expunge_all()
        return rows


def test_create_prints_the_key_once_and_it_works(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["api-keys", "create", "Nightly export", "--scope", "admin"])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    secret = lines[-1]
    assert secret.startswith("gwa_") and "not shown again" in result.output
    [key] = stored_keys(app)
    assert (key.name, key.scope, key.created_by) == ("Nightly export", "admin", "cli")
    assert key.key_hash != secret and secret not in key.key_hash
    answer = app.test_client().get(
        "/admin/v1/operators", headers={"Authorization": f"Bearer {secret}"}
    )
    assert answer.status_code == 200
    [row] = audits(app, "api_key.created")
    assert row.actor == "cli"

    listed = runner.invoke(args=["api-keys", "list"])
    assert listed.exit_code == 0
    assert f"{key.id}\tNightly export\tadmin\t{key.key_prefix}..." in listed.output
    assert "last used 20" in listed.output and "\tlive" in listed.output
    assert secret not in listed.output


def test_bad_input_is_a_clear_message_and_stores_nothing(app):
    runner = app.test_cli_runner()
    blank = runner.invoke(args=["api-keys", "create", "  ", "--scope", "support"])
    assert blank.exit_code != 0 and "Give the key a name" in blank.output
    wrong = runner.invoke(args=["api-keys", "create", "Robot", "--scope", "owner"])
    assert wrong.exit_code != 0 and "owner" in wrong.output
    missing = runner.invoke(args=["api-keys", "create", "Robot"])
    assert missing.exit_code != 0 and "--scope" in missing.output
    assert stored_keys(app) == []


def test_revoke_stops_the_key_and_is_idempotent(app):
    runner = app.test_cli_runner()
    secret = runner.invoke(
        args=["api-keys", "create", "Old robot", "--scope", "admin"]
    ).output.splitlines()[-1]
    [key] = stored_keys(app)
    first = runner.invoke(args=["api-keys", "revoke", str(key.id)])
    assert first.exit_code == 0 and "revoked" in first.output
    again = runner.invoke(args=["api-keys", "revoke", str(key.id)])
    assert again.exit_code == 0
    assert len(audits(app, "api_key.revoked")) == 1
    assert stored_keys(app)[0].revoked_at is not None
    answer = app.test_client().get(
        "/admin/v1/operators", headers={"Authorization": f"Bearer {secret}"}
    )
    assert answer.status_code == 401
    assert "\trevoked 20" in runner.invoke(args=["api-keys", "list"]).output

    unknown = runner.invoke(args=["api-keys", "revoke", "424242"])
    assert unknown.exit_code != 0 and "not found" in unknown.output
    not_a_number = runner.invoke(args=["api-keys", "revoke", "abc"])
    assert not_a_number.exit_code != 0
