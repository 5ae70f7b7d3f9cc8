"""The admin API's key check and common parts: 401 with WWW-Authenticate, 403 beyond the scope
(audited), keys kept only as hashes, last_used_at written at most once a minute, checked JSON
bodies and page parameters; the API key and operator endpoints."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import select, text, update

from gateway.models import Base
from gateway.models.api_key import ApiKey
from gateway.models.base import utcnow
from gateway.runtime import runtime
from gateway.services.operate import api_keys
from tests.console_helpers import audits, make_operator


def new_key(app: Flask, scope: str, name: str = "robot") -> tuple[int, str]:
    with runtime(app).sessions() as session:
        created = api_keys.create_api_key(session, "test", name, scope)
        return created.key.id, created.secret


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def key_row(app: Flask, key_id: int) -> ApiKey:
    with runtime(app).sessions() as session:
        key = session.get(ApiKey, key_id)
        assert key is not None
        session.expunge(key)
        return key


def _revoked_secret(app: Flask) -> str:
    key_id, secret = new_key(app, "admin")
    with runtime(app).sessions() as session:
        api_keys.revoke_api_key(session, "test", key_id)
    return secret


@pytest.mark.parametrize(
    "header",
    [
        None,
        "Bearer",
        "Bearer gwa_not-a-real-key",
        "Bearer not-even-the-prefix",
        "Basic dXNlcjpwYXNz",
        "revoked",
    ],
)
def test_no_unknown_or_revoked_key_is_401_with_www_authenticate(app, client, header):
    if header == "revoked":
        header = f"Bearer {_revoked_secret(app)}"
    headers = {} if header is None else {"Authorization": header}
    before = len(api_keys_in(app))
    for method, path in (("GET", "/admin/v1/api-keys"), ("POST", "/admin/v1/api-keys")):
        answer = client.open(path, method=method, headers=headers, json={"name": "x"})
        assert answer.status_code == 401
        assert answer.headers["WWW-Authenticate"] == 'Bearer realm="admin"'
        assert answer.get_json()["error"]["code"] == "unauthorized"
    assert len(api_keys_in(app)) == before


def test_a_support_key_on_an_admin_operation_is_403_and_audited(app, client):
    key_id, secret = new_key(app, "support")
    answer = client.post("/admin/v1/api-keys", headers=bearer(secret), json={"name": "x"})
    assert answer.status_code == 403
    error = answer.get_json()["error"]
    assert error["code"] == "forbidden" and "support" in error["message"]
    [row] = audits(app, "admin_api.forbidden")
    assert row.actor == f"apikey:{key_id}" and row.subject == "POST /admin/v1/api-keys"
    assert row.details == {"scope": "support", "allowed": ["admin"]}
    assert [key.id for key in api_keys_in(app)] == [key_id]  # nothing created


def test_a_marketer_key_cannot_list_operators(app, client):
    _, secret = new_key(app, "marketer")
    assert client.get("/admin/v1/operators", headers=bearer(secret)).status_code == 403


def api_keys_in(app: Flask) -> list[ApiKey]:
    with runtime(app).sessions() as session:
        rows = list(session.scalars(select(ApiKey).order_by(ApiKey.id)))
        session.expunge_all()
        return rows


def test_keys_are_kept_only_as_hashes(app, client):
    _, admin_secret = new_key(app, "admin")
    created = client.post(
        "/admin/v1/api-keys",
        headers=bearer(admin_secret),
        json={"name": "Till sync", "scope": "support"},
    )
    assert created.status_code == 201 and created.headers["Cache-Control"] == "no-store"
    body = created.get_json()
    secret = body["secret"]
    assert secret.startswith("gwa_") and body["key"]["prefix"] == secret[:12]
    assert client.get("/admin/v1/api-keys", headers=bearer(admin_secret)).status_code == 200
    # Neither secret is anywhere in the database, in any table (audit rows included).
    with runtime(app).engine.connect() as conn:
        dump = "\n".join(
            repr(tuple(row))
            for table in Base.metadata.sorted_tables
            for row in conn.execute(text(f"SELECT * FROM {table.name}"))
        )
    assert "Till sync" in dump  # the dump does hold the keys' rows
    for kept_secret in (secret, admin_secret):
        assert kept_secret not in dump and kept_secret[12:] not in dump
    # The list shows prefixes, never hashes.
    listed = client.get("/admin/v1/api-keys", headers=bearer(admin_secret)).get_json()
    assert "key_hash" not in listed["items"][0] and secret not in str(listed)


def test_last_used_at_is_written_at_most_once_a_minute(app, client):
    key_id, secret = new_key(app, "admin")
    assert key_row(app, key_id).last_used_at is None
    client.get("/admin/v1/operators", headers=bearer(secret))
    first = key_row(app, key_id).last_used_at
    assert first is not None
    client.get("/admin/v1/operators", headers=bearer(secret))
    assert key_row(app, key_id).last_used_at == first  # not rewritten within the minute
    earlier = utcnow() - timedelta(seconds=61)
    with runtime(app).sessions() as session:
        session.execute(update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=earlier))
        session.commit()
    client.get("/admin/v1/operators", headers=bearer(secret))
    later = key_row(app, key_id).last_used_at
    assert later is not None and later > earlier + timedelta(seconds=30)


def test_an_admin_key_creates_lists_and_revokes_keys_audited(app, client):
    admin_id, admin_secret = new_key(app, "admin")
    created = client.post(
        "/admin/v1/api-keys",
        headers=bearer(admin_secret),
        json={"name": "Report export", "scope": "marketer"},
    ).get_json()
    new_id = created["key"]["id"]
    assert created["key"]["created_by"] == f"apikey:{admin_id}"
    [row] = audits(app, "api_key.created")[-1:]
    assert row.actor == f"apikey:{admin_id}"

    listed = client.get("/admin/v1/api-keys", headers=bearer(admin_secret)).get_json()
    assert [item["id"] for item in listed["items"]] == [new_id, admin_id]  # newest first
    assert listed["total"] == 2 and listed["limit"] == 50 and listed["offset"] == 0

    path = f"/admin/v1/api-keys/{new_id}/revoke"
    revoked = client.post(path, headers=bearer(admin_secret))
    assert revoked.status_code == 200 and revoked.get_json()["revoked_at"]
    assert client.post(path, headers=bearer(admin_secret)).status_code == 200  # idempotent
    [audit] = audits(app, "api_key.revoked")
    assert audit.actor == f"apikey:{admin_id}" and audit.subject == f"api_key:{new_id}"
    assert client.get("/admin/v1/api-keys", headers=bearer(created["secret"])).status_code == 401

    missing = client.post("/admin/v1/api-keys/999999/revoke", headers=bearer(admin_secret))
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"name": "This field is required.", "scope": "This field is required."}),
        ({"name": "x", "scope": "admin", "owner": "me"}, {"owner": "Unknown field."}),
        ({"name": 7, "scope": True}, {"name": "Must be text.", "scope": "Must be text."}),
        ({"name": " ", "scope": "root"}, None),  # checked by the service
    ],
)
def test_a_bad_body_is_one_422_naming_every_field(app, client, body, fields):
    _, secret = new_key(app, "admin")
    answer = client.post("/admin/v1/api-keys", headers=bearer(secret), json=body)
    assert answer.status_code == 422
    error = answer.get_json()["error"]
    assert error["code"] == "validation_error"
    if fields is None:
        assert set(error["fields"]) == {"name", "scope"}
    else:
        assert error["fields"] == fields
    assert len(api_keys_in(app)) == 1


@pytest.mark.parametrize("data", [b"not json", b"[1, 2]", b'"text"'])
def test_a_body_that_is_not_a_json_object_is_400(app, client, data):
    _, secret = new_key(app, "admin")
    answer = client.post(
        "/admin/v1/api-keys",
        headers={**bearer(secret), "Content-Type": "application/json"},
        data=data,
    )
    assert answer.status_code == 400 and answer.get_json()["error"]["code"] == "invalid_json"


def test_operators_are_listed_in_pages_without_secrets(app, client):
    for name in ("ann", "bob", "cat"):
        make_operator(app, f"{name}@example.com", "support")
    _, secret = new_key(app, "admin")
    page = client.get("/admin/v1/operators?limit=2&offset=1", headers=bearer(secret)).get_json()
    assert [item["email"] for item in page["items"]] == ["bob@example.com", "cat@example.com"]
    assert page["total"] == 3 and page["limit"] == 2 and page["offset"] == 1
    item = page["items"][0]
    assert item["role"] == "support" and item["state"] == "active"
    assert item["second_factor"] is False
    assert not {"password_hash", "totp_secret", "password_token_hash"} & set(item)


@pytest.mark.parametrize(
    ("query", "field"),
    [("limit=0", "limit"), ("limit=201", "limit"), ("limit=ten", "limit"), ("offset=-1", "offset")],
)
def test_bad_page_parameters_are_422(app, client, query, field):
    _, secret = new_key(app, "admin")
    answer = client.get(f"/admin/v1/operators?{query}", headers=bearer(secret))
    assert answer.status_code == 422
    assert set(answer.get_json()["error"]["fields"]) == {field}
