"""Admin API keys in the console: list, create (shown once), revoke; field errors; admins only."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from sqlalchemy import func, select

from gateway.models.api_key import ApiKey
from gateway.runtime import runtime
from tests.console_helpers import audits, post_form, signed_in_client

_SECRET = re.compile(r'id="api-key-secret">(gwa_[^<]+)<')


def keys(app: Flask) -> list[ApiKey]:
    with runtime(app).sessions() as session:
        rows = list(session.scalars(select(ApiKey).order_by(ApiKey.id)))
        session.expunge_all()
        return rows


def create(client, name: str = "Nightly export", scope: str = "marketer") -> str:
    answer = post_form(client, "/console/api-keys", {"name": name, "scope": scope})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.headers["Cache-Control"] == "no-store"
    page = answer.get_data(as_text=True)
    assert "not shown again" in page and 'id="copy-key"' in page
    match = _SECRET.search(page)
    assert match
    return match.group(1)


def test_the_section_is_in_the_nav_of_admins_and_lists_no_keys_at_first(app):
    admin = signed_in_client(app, "admin")
    home = admin.get("/console").get_data(as_text=True)
    assert 'href="/console/api-keys"' in home
    page = admin.get("/console/api-keys")
    assert page.status_code == 200 and 'id="no-keys"' in page.get_data(as_text=True)


def test_an_admin_creates_a_key_shown_once_that_works_on_the_admin_api(app):
    admin = signed_in_client(app, "admin", "boss@example.com")
    secret = create(admin, "Ops robot", "admin")
    [key] = keys(app)
    assert (key.name, key.scope, key.revoked_at) == ("Ops robot", "admin", None)
    assert key.created_by.startswith("operator:") and secret.startswith(key.key_prefix)

    answer = app.test_client().get(
        "/admin/v1/api-keys", headers={"Authorization": f"Bearer {secret}"}
    )
    assert answer.status_code == 200
    assert answer.get_json()["items"][0]["name"] == "Ops robot"

    listing = admin.get("/console/api-keys").get_data(as_text=True)
    assert "Ops robot" in listing and key.key_prefix in listing
    assert secret not in listing  # shown once only
    assert "by " + key.created_by in listing
    [row] = audits(app, "api_key.created")
    assert row.actor == key.created_by and row.subject == f"api_key:{key.id}"
    assert row.details["after"] == {"name": "Ops robot", "scope": "admin", "prefix": key.key_prefix}


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"name": "   ", "scope": "support"}, "name", "Give the key a name"),
        ({"name": "x" * 121, "scope": "support"}, "name", "Give the key a name"),
        ({"name": "Robot", "scope": "owner"}, "scope", "Choose admin, marketer or support"),
    ],
)
def test_a_bad_key_is_a_field_error_that_keeps_what_was_typed(app, data, field, message):
    admin = signed_in_client(app, "admin")
    answer = post_form(admin, "/console/api-keys", data)
    assert answer.status_code == 422
    page = answer.get_data(as_text=True)
    error = re.search(rf'id="{field}-error">([^<]+)<', page)
    assert error and message in error.group(1)
    if data["name"].strip():
        assert f'value="{data["name"]}"' in page
    assert keys(app) == [] and not audits(app, "api_key.created")


def test_revoking_a_key_stops_it_at_once_and_twice_changes_nothing(app):
    admin = signed_in_client(app, "admin")
    secret = create(admin, "Old till sync", "support")
    [key] = keys(app)
    bearer = {"Authorization": f"Bearer {secret}"}
    assert app.test_client().get("/admin/v1/operators", headers=bearer).status_code == 403
    path = f"/console/api-keys/{key.id}/revoke"
    answer = post_form(admin, path, {}, "/console/api-keys")
    assert answer.status_code == 302
    notice = admin.get(answer.headers["Location"]).get_data(as_text=True)
    assert "“Old till sync”" in notice and "is revoked" in notice
    assert keys(app)[0].revoked_at is not None
    # A support key: it was let in (403 beyond its scope) and now is not (401).
    refused = app.test_client().get("/admin/v1/operators", headers=bearer)
    assert refused.status_code == 401 and refused.get_json()["error"]["code"] == "unauthorized"
    again = post_form(admin, path, {}, "/console/api-keys")
    assert again.status_code == 302
    [row] = audits(app, "api_key.revoked")
    assert row.details["before"] == {"revoked": False} and row.details["after"] == {"revoked": True}


def test_revoking_an_unknown_key_is_a_404_page(app):
    admin = signed_in_client(app, "admin")
    answer = post_form(admin, "/console/api-keys/999/revoke", {}, "/console/api-keys")
    assert answer.status_code == 404
    assert "There is no such API key." in answer.get_data(as_text=True)


def test_support_cannot_see_or_revoke_keys(app):
    admin = signed_in_client(app, "admin")
    create(admin)
    [key] = keys(app)
    support = signed_in_client(app, "support")
    assert support.get("/console/api-keys").status_code == 403
    answer = post_form(support, f"/console/api-keys/{key.id}/revoke", {}, "/console")
    assert answer.status_code == 403
    assert keys(app)[0].revoked_at is None
    with runtime(app).sessions() as session:
        assert session.scalar(select(func.count()).select_from(ApiKey)) == 1
    assert [row.subject for row in audits(app, "console.forbidden")] == [
        "GET /console/api-keys",
        f"POST /console/api-keys/{key.id}/revoke",
    ]


@pytest.mark.parametrize("token", [None, "wrong-token"])
def test_revoke_without_the_right_csrf_token_changes_nothing(app, token):
    admin = signed_in_client(app, "admin")
    create(admin)
    [key] = keys(app)
    extra = {} if token is None else {"csrf_token": token}
    answer = admin.post(f"/console/api-keys/{key.id}/revoke", data=extra)
    assert answer.status_code == 400
    assert keys(app)[0].revoked_at is None and not audits(app, "api_key.revoked")
