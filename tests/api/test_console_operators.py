"""Operators in the console: create with a one-time link, role changes that never leave no admin,
new password links, second factor turned off by an admin or by its owner with a code, 403 for
other roles, CSRF, and the lockout settings."""

from __future__ import annotations

import re
import time

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from gateway.config import ConfigurationError, Settings
from gateway.models.api_key import ApiKey
from gateway.models.operator import Operator
from gateway.runtime import runtime
from gateway.services.console import operators, second_factor
from tests.console_helpers import (
    PASSWORD,
    audits,
    csrf_of,
    make_operator,
    post_form,
    sign_in,
    signed_in_client,
)
from tests.integration.conftest import race

_LINK = re.compile(r'id="password-link">([^<]+)<')


def operator_row(app: Flask, email: str) -> Operator:
    with runtime(app).sessions() as session:
        operator = operators.find_operator(session, email)
        assert operator is not None
        session.expunge(operator)
        return operator


def operator_count(app: Flask) -> int:
    with runtime(app).sessions() as session:
        return session.scalar(select(func.count()).select_from(Operator)) or 0


class Authenticator:
    """The operator's authenticator app: the code the enrolment used, and the next one."""

    def __init__(self, secret: str) -> None:
        self.totp = pyotp.TOTP(secret)
        self.enrolled_at = time.time()

    def used(self) -> str:
        return self.totp.at(self.enrolled_at)

    def next(self) -> str:
        return self.totp.at(self.enrolled_at + 30)


def with_second_factor(app: Flask, email: str) -> Authenticator:
    """Turn on the operator's second factor through the services."""
    rt = runtime(app)
    with rt.sessions() as session:
        operator = operators.find_operator(session, email)
        assert operator is not None
        app_ = Authenticator(second_factor.pending_enrolment(rt, session, operator).secret)
        second_factor.confirm_enrolment(rt, session, operator, app_.used())
    return app_


def test_an_admin_creates_an_operator_and_the_link_sets_the_password(app):
    admin = signed_in_client(app, "admin", "boss@example.com")
    boss_id = operator_row(app, "boss@example.com").id
    answer = post_form(
        admin,
        "/console/operators",
        {"email": "  New.Person@Example.com ", "role": "support"},
    )
    assert answer.status_code == 200
    assert answer.headers["Cache-Control"] == "no-store"
    page = answer.get_data(as_text=True)
    assert "new.person@example.com" in page
    link = _LINK.search(page)
    assert link and link.group(1).startswith("https://gateway.test/console/set-password/")
    created = audits(app, "operator.created")[-1]
    assert created.subject == f"operator:{operator_row(app, 'new.person@example.com').id}"
    assert created.actor == f"operator:{boss_id}"
    assert created.details["after"] == {"role": "support"}

    newcomer = app.test_client()
    path = link.group(1).removeprefix("https://gateway.test")
    token = csrf_of(newcomer, path)
    saved = newcomer.post(
        path, data={"csrf_token": token, "password": PASSWORD, "confirm": PASSWORD}
    )
    assert saved.status_code == 200
    assert sign_in(newcomer, "new.person@example.com").status_code == 302
    assert 'id="signed-in-role">support<' in newcomer.get("/console").get_data(as_text=True)
    # The link worked once.
    assert newcomer.get(path).status_code == 404


@pytest.mark.parametrize(
    ("data", "status", "field", "message"),
    [
        ({"email": "not an address", "role": "support"}, 422, "email", "Enter an e-mail"),
        ({"email": "sam@example.com", "role": "owner"}, 422, "role", "Choose one of"),
        ({"email": "boss@example.com", "role": "support"}, 409, "email", "already exists"),
    ],
)
def test_a_bad_new_operator_is_a_field_error_that_keeps_what_was_typed(
    app, data, status, field, message
):
    admin = signed_in_client(app, "admin", "boss@example.com")
    answer = post_form(admin, "/console/operators", data, form_path="/console/operators")
    assert answer.status_code == status
    page = answer.get_data(as_text=True)
    error = re.search(rf'id="{field}-error">([^<]+)<', page)
    assert error and message in error.group(1)
    assert f'value="{data["email"]}"' in page
    assert operator_count(app) == 1
    assert len(audits(app, "operator.created")) == 1  # the signed-in admin's own


def test_an_admin_changes_a_role_audited_with_before_and_after(app):
    admin = signed_in_client(app, "admin", "boss@example.com")
    make_operator(app, "sam@example.com", "support")
    sam = operator_row(app, "sam@example.com")
    answer = post_form(
        admin, f"/console/operators/{sam.id}/role", {"role": "marketer"}, "/console/operators"
    )
    assert answer.status_code == 302
    listing = admin.get(answer.headers["Location"]).get_data(as_text=True)
    assert "The role of sam@example.com is now marketer." in listing
    assert operator_row(app, "sam@example.com").role == "marketer"
    [row] = audits(app, "operator.role_changed")
    assert row.subject == f"operator:{sam.id}"
    assert row.details["before"] == {"role": "support"}
    assert row.details["after"] == {"role": "marketer"}
    # The new role applies to Sam's next request.
    client = app.test_client()
    sign_in(client, "sam@example.com")
    assert client.get("/console/operators").status_code == 403


def test_the_last_admin_cannot_be_demoted(app):
    admin = signed_in_client(app, "admin", "boss@example.com")
    boss = operator_row(app, "boss@example.com")
    # An admin who has not set a password yet cannot sign in: it does not count.
    with runtime(app).sessions() as session:
        operators.create_operator(session, "pending@example.com", "admin", "test")
    answer = post_form(
        admin, f"/console/operators/{boss.id}/role", {"role": "support"}, "/console/operators"
    )
    assert answer.status_code == 409
    problem = re.search(r'id="problem" role="alert">([^<]+)<', answer.get_data(as_text=True))
    assert problem and "last administrator" in problem.group(1)
    assert operator_row(app, "boss@example.com").role == "admin"
    assert not audits(app, "operator.role_changed")

    # With a second admin who can sign in, the first may step down (and leaves the page).
    make_operator(app, "ada@example.com", "admin")
    answer = post_form(
        admin, f"/console/operators/{boss.id}/role", {"role": "support"}, "/console/operators"
    )
    assert answer.status_code == 302 and answer.headers["Location"] == "/console"
    assert operator_row(app, "boss@example.com").role == "support"
    # Ada is now the last one.
    ada = operator_row(app, "ada@example.com")
    with runtime(app).sessions() as session, pytest.raises(Exception) as refused:
        operators.change_role(session, ada.id, "marketer", "cli")
    assert getattr(refused.value, "code", None) == "last_admin"


def test_two_admins_demoting_each_other_at_once_leave_one_admin(app):
    make_operator(app, "ada@example.com", "admin")
    make_operator(app, "bob@example.com", "admin")
    ids = [operator_row(app, email).id for email in ("ada@example.com", "bob@example.com")]
    rt = runtime(app)

    def demote(index: int) -> str:
        with rt.sessions() as session:
            # Each demotes the other.
            operators.change_role(session, ids[1 - index], "support", f"operator:{ids[index]}")
            return "ok"

    results = race(2, demote)
    assert sorted(str(getattr(r, "code", r)) for r in results) == ["last_admin", "ok"]
    roles = sorted(operator_row(app, e).role for e in ("ada@example.com", "bob@example.com"))
    assert roles == ["admin", "support"]


def test_a_new_password_link_replaces_the_previous_one(app):
    admin = signed_in_client(app, "admin", "boss@example.com")
    with runtime(app).sessions() as session:
        sam, first = operators.create_operator(session, "sam@example.com", "support", "test")
        sam_id = sam.id
    answer = post_form(
        admin, f"/console/operators/{sam_id}/password-link", {}, "/console/operators"
    )
    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store"
    link = _LINK.search(answer.get_data(as_text=True))
    assert link
    assert admin.get(operators.set_password_path(first.token)).status_code == 404
    assert admin.get(link.group(1).removeprefix("https://gateway.test")).status_code == 200
    [row] = audits(app, "operator.password_link_issued")
    assert row.subject == f"operator:{sam_id}"
    assert row.details["before"] == {"pending_link": True}


def test_an_admin_turns_off_another_operators_second_factor(app):
    admin = signed_in_client(app, "admin", "boss@example.com")
    make_operator(app, "sam@example.com", "support")
    with_second_factor(app, "sam@example.com")
    sam = operator_row(app, "sam@example.com")
    listing = admin.get("/console/operators").get_data(as_text=True)
    assert f"/console/operators/{sam.id}/second-factor/reset" in listing

    answer = post_form(
        admin, f"/console/operators/{sam.id}/second-factor/reset", {}, "/console/operators"
    )
    assert answer.status_code == 302
    assert "Two-step sign-in of sam@example.com is off" in admin.get(
        answer.headers["Location"]
    ).get_data(as_text=True)
    assert operator_row(app, "sam@example.com").totp_secret is None
    [row] = audits(app, "operator.second_factor_reset")
    assert row.details["before"] == {"second_factor": True}
    assert row.details["after"] == {"second_factor": False}
    # Sam signs in with the password alone now.
    assert sign_in(app.test_client(), "sam@example.com").status_code == 302


def test_an_admin_cannot_reset_their_own_second_factor_without_a_code(app):
    admin = signed_in_client(app, "admin", "boss@example.com")
    with_second_factor(app, "boss@example.com")
    boss = operator_row(app, "boss@example.com")
    answer = post_form(
        admin, f"/console/operators/{boss.id}/second-factor/reset", {}, "/console/operators"
    )
    assert answer.status_code == 409
    assert operator_row(app, "boss@example.com").totp_secret is not None
    assert not audits(app, "operator.second_factor_reset")


def test_an_operator_turns_off_their_own_second_factor_with_a_current_code(app):
    client = signed_in_client(app, "support", "sam@example.com")
    authenticator = with_second_factor(app, "sam@example.com")
    assert "/console/account/2fa/off" in client.get("/console/account/2fa").get_data(as_text=True)

    wrong = post_form(client, "/console/account/2fa/off", {"code": "000000"})
    assert wrong.status_code == 422 and 'id="error"' in wrong.get_data(as_text=True)
    assert operator_row(app, "sam@example.com").totp_secret is not None
    assert [r.details["reason"] for r in audits(app, "operator.second_factor_code_failed")] == [
        "code"
    ]
    # A used code is refused too.
    used = post_form(client, "/console/account/2fa/off", {"code": authenticator.used()})
    assert used.status_code == 422

    off = post_form(client, "/console/account/2fa/off", {"code": authenticator.next()})
    assert off.status_code == 200 and 'id="two-factor-off"' in off.get_data(as_text=True)
    stored = operator_row(app, "sam@example.com")
    assert stored.totp_secret is None and stored.failed_signins == 0
    [row] = audits(app, "operator.second_factor_disabled")
    assert row.actor == row.subject == f"operator:{stored.id}"
    assert row.details["before"] == {"second_factor": True}
    assert row.details["after"] == {"second_factor": False}
    assert sign_in(app.test_client(), "sam@example.com").status_code == 302


def test_wrong_codes_when_turning_it_off_lock_the_account(make_app):
    app = make_app(CONSOLE_FAILED_SIGNINS_BEFORE_LOCK=2, CONSOLE_LOCK_MINUTES=5)
    client = signed_in_client(app, "support", "sam@example.com")
    authenticator = with_second_factor(app, "sam@example.com")
    for _ in range(2):
        assert post_form(client, "/console/account/2fa/off", {"code": "000000"}).status_code == 422
    locked = post_form(client, "/console/account/2fa/off", {"code": authenticator.next()})
    assert locked.status_code == 429 and "5 minutes" in locked.get_data(as_text=True)
    assert operator_row(app, "sam@example.com").totp_secret is not None
    assert len(audits(app, "operator.locked")) == 1


def test_the_lockout_follows_the_settings(make_app):
    app = make_app(CONSOLE_FAILED_SIGNINS_BEFORE_LOCK=2, CONSOLE_LOCK_MINUTES=7)
    make_operator(app, "boss@example.com")
    client = app.test_client()
    for _ in range(2):
        wrong = sign_in(client, "boss@example.com", "wrong password!")
        assert wrong.status_code == 401
    assert "After 2 wrong attempts an account is locked for 7 minutes." in wrong.get_data(
        as_text=True
    )
    assert sign_in(client, "boss@example.com").status_code == 401
    stored = operator_row(app, "boss@example.com")
    assert stored.locked_until is not None
    assert len(audits(app, "operator.locked")) == 1


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("CONSOLE_FAILED_SIGNINS_BEFORE_LOCK", 0),
        ("CONSOLE_FAILED_SIGNINS_BEFORE_LOCK", "five"),
        ("CONSOLE_LOCK_MINUTES", 0),
        ("CONSOLE_LOCK_MINUTES", "-3"),
    ],
)
def test_bad_lockout_settings_stop_start_up(name, value):
    with pytest.raises(ConfigurationError) as refused:
        Settings.from_mapping({name: value})
    assert f"GATEWAY_{name}" in str(refused.value)


def test_lockout_settings_default_to_five_and_fifteen():
    settings = Settings()
    assert settings.console_failed_signins_before_lock == 5
    assert settings.console_lock_minutes == 15


def _marketer(app: Flask) -> tuple[FlaskClient, int]:
    make_operator(app, "boss@example.com", "admin")
    client = signed_in_client(app, "marketer", "mia@example.com")
    return client, operator_row(app, "mia@example.com").id


def test_a_marketer_creating_an_operator_gets_403_audited(app):
    client, mia_id = _marketer(app)
    answer = post_form(
        client, "/console/operators", {"email": "x@example.com", "role": "admin"}, "/console"
    )
    assert answer.status_code == 403
    assert operator_count(app) == 2
    [row] = audits(app, "console.forbidden")
    assert row.actor == f"operator:{mia_id}" and row.subject == "POST /console/operators"
    boss = operator_row(app, "boss@example.com")
    for path in (
        f"/console/operators/{boss.id}/role",
        f"/console/operators/{boss.id}/password-link",
        f"/console/operators/{boss.id}/second-factor/reset",
    ):
        assert post_form(client, path, {"role": "support"}, "/console").status_code == 403
    assert operator_row(app, "boss@example.com").role == "admin"
    assert len(audits(app, "console.forbidden")) == 4


def test_a_marketer_creating_an_api_key_gets_403_audited(app):
    client, _ = _marketer(app)
    assert client.get("/console/api-keys").status_code == 403
    answer = post_form(client, "/console/api-keys", {"name": "x", "scope": "admin"}, "/console")
    assert answer.status_code == 403
    with runtime(app).sessions() as session:
        assert session.scalar(select(func.count()).select_from(ApiKey)) == 0
    subjects = [row.subject for row in audits(app, "console.forbidden")]
    assert subjects == ["GET /console/api-keys", "POST /console/api-keys"]


def test_support_cannot_open_the_operators_page(app):
    client = signed_in_client(app, "support", "sue@example.com")
    assert client.get("/console/operators").status_code == 403
    assert audits(app, "console.forbidden")


@pytest.mark.parametrize("token", [None, "wrong-token"])
def test_forms_without_the_right_csrf_token_change_nothing(app, token):
    admin = signed_in_client(app, "admin", "boss@example.com")
    make_operator(app, "sam@example.com", "support")
    with_second_factor(app, "sam@example.com")
    sam = operator_row(app, "sam@example.com")
    extra = {} if token is None else {"csrf_token": token}
    posts = [
        ("/console/operators", {"email": "new@example.com", "role": "admin"}),
        (f"/console/operators/{sam.id}/role", {"role": "admin"}),
        (f"/console/operators/{sam.id}/password-link", {}),
        (f"/console/operators/{sam.id}/second-factor/reset", {}),
        ("/console/api-keys", {"name": "robot", "scope": "admin"}),
    ]
    for path, data in posts:
        answer = admin.post(path, data={**data, **extra})
        assert answer.status_code == 400, path
        assert "Nothing was changed" in answer.get_data(as_text=True)
    after = operator_row(app, "sam@example.com")
    assert after.role == "support" and after.totp_secret is not None
    assert after.password_token_hash is None
    assert operator_count(app) == 2
    with runtime(app).sessions() as session:
        assert session.scalar(select(func.count()).select_from(ApiKey)) == 0
    assert len(audits(app, "operator.created")) == 2  # the two made above
    for action in (
        "operator.role_changed",
        "operator.password_link_issued",
        "operator.second_factor_reset",
        "api_key.created",
    ):
        assert not audits(app, action), action
