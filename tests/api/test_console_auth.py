"""Operator console sign-in: set-password link, lockout, per-address limit, CSRF, roles,
sessions (logout, idle time, cookie flags) and the TOTP second factor."""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pyotp
import pytest
from flask import Flask
from sqlalchemy import func, select, update

from gateway.models.base import utcnow
from gateway.models.operator import Operator, OperatorSession
from gateway.runtime import runtime
from gateway.services.console import operators, signin
from tests.console_helpers import PASSWORD, audits, csrf_of, make_operator, sign_in
from tests.integration.conftest import race


def operator_row(app: Flask, operator_id: int) -> Operator:
    with runtime(app).sessions() as session:
        operator = session.get(Operator, operator_id)
        assert operator is not None
        session.expunge(operator)
        return operator


def test_the_set_password_link_works_once(app, client):
    with runtime(app).sessions() as session:
        operator, link = operators.create_operator(session, " Ana@Example.com ", "support", "test")
        operator_id = operator.id
    assert operator_row(app, operator_id).email == "ana@example.com"
    path = operators.set_password_path(link.token)
    token = csrf_of(client, path)

    short = client.post(path, data={"csrf_token": token, "password": "short", "confirm": "short"})
    assert short.status_code == 422 and "at least 12" in short.get_data(as_text=True)
    other = client.post(path, data={"csrf_token": token, "password": PASSWORD, "confirm": "x" * 12})
    assert other.status_code == 422
    assert operator_row(app, operator_id).password_hash is None

    done = client.post(path, data={"csrf_token": token, "password": PASSWORD, "confirm": PASSWORD})
    assert done.status_code == 200
    stored = operator_row(app, operator_id)
    assert stored.password_hash and stored.password_hash.startswith("$argon2id$")
    assert stored.password_token_hash is None

    again = client.post(path, data={"csrf_token": token, "password": "x" * 12, "confirm": "x" * 12})
    assert again.status_code == 404
    assert client.get(path).status_code == 404
    assert sign_in(client, "ana@example.com").status_code == 302
    assert audits(app, "operator.password_set")[0].subject == f"operator:{operator_id}"


def test_an_expired_link_is_refused(app, client):
    with runtime(app).sessions() as session:
        operator, link = operators.create_operator(session, "old@example.com", "support", "test")
        operator.password_token_expires_at = utcnow() - timedelta(seconds=1)
        session.commit()
    assert client.get(operators.set_password_path(link.token)).status_code == 404


def test_sign_in_shows_who_and_the_role_and_sets_a_strict_cookie(app, client):
    make_operator(app, "boss@example.com", "admin")
    answer = sign_in(client, "BOSS@example.com")
    assert answer.status_code == 302 and answer.headers["Location"] == "/console"
    cookie = answer.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie
    assert "Path=/console" in cookie
    home = client.get("/console")
    text = home.get_data(as_text=True)
    assert home.status_code == 200
    assert "boss@example.com" in text and ">admin<" in text and "/console/operators" in text
    assert audits(app, "operator.signed_in")


def test_the_cookie_is_not_secure_on_plain_http(make_app):
    app = make_app(PUBLIC_BASE_URL="http://127.0.0.1:5000")
    make_operator(app, "boss@example.com")
    answer = sign_in(app.test_client(), "boss@example.com")
    assert "Secure" not in answer.headers["Set-Cookie"]


def test_other_paths_get_no_session_cookie(app, client):
    make_operator(app, "boss@example.com")
    sign_in(client, "boss@example.com")
    for path in ("/health", "/cashier", "/pos/v1/openapi.json"):
        answer = client.get(path)
        assert "Set-Cookie" not in answer.headers, path


def test_the_home_page_needs_a_sign_in(client):
    answer = client.get("/console")
    assert answer.status_code == 302 and answer.headers["Location"].startswith("/console/login")


def test_five_wrong_passwords_lock_the_account_and_are_audited(app, client):
    operator_id = make_operator(app, "boss@example.com")
    unknown = sign_in(client, "nobody@example.com", "whatever-password")
    for _ in range(5):
        wrong = sign_in(client, "boss@example.com", "wrong password!")
        assert wrong.status_code == 401
    # The right password no longer works, and the answer is the one an unknown e-mail gets.
    locked = sign_in(client, "boss@example.com")
    assert locked.status_code == 401
    message = re.compile(r'id="error" role="alert">([^<]+)<')
    assert message.findall(locked.get_data(as_text=True)) == message.findall(
        unknown.get_data(as_text=True)
    )
    assert client.get("/console").status_code == 302
    stored = operator_row(app, operator_id)
    assert stored.failed_signins == 5
    assert stored.locked_until is not None and stored.locked_until > utcnow() + timedelta(
        minutes=14
    )
    reasons = [row.details["reason"] for row in audits(app, "operator.signin_failed")]
    assert reasons == ["unknown_email"] + ["password"] * 5 + ["locked"]
    assert [row.subject for row in audits(app, "operator.locked")] == [f"operator:{operator_id}"]


def test_a_lock_that_ran_out_lets_the_operator_in_again(app, client):
    operator_id = make_operator(app, "boss@example.com")
    for _ in range(5):
        sign_in(client, "boss@example.com", "wrong password!")
    with runtime(app).sessions() as session:
        session.execute(
            update(Operator)
            .where(Operator.id == operator_id)
            .values(locked_until=utcnow() - timedelta(seconds=1))
        )
        session.commit()
    assert sign_in(client, "boss@example.com").status_code == 302
    stored = operator_row(app, operator_id)
    assert stored.failed_signins == 0 and stored.locked_until is None


def test_parallel_wrong_passwords_do_not_exceed_the_limit(app):
    operator_id = make_operator(app, "boss@example.com")
    rt = runtime(app)

    def attempt(index: int) -> str:
        with rt.sessions() as session:
            try:
                signin.sign_in(rt, session, "boss@example.com", "wrong!", "", f"10.0.0.{index}")
            except Exception as error:
                return getattr(error, "code", repr(error))
            return "signed in"

    results = race(12, attempt)
    assert results == ["signin_failed"] * 12
    checked = [
        r for r in audits(app, "operator.signin_failed") if r.details["reason"] == "password"
    ]
    assert len(checked) == 5  # never more password checks than the limit
    assert len(audits(app, "operator.locked")) == 1
    assert operator_row(app, operator_id).failed_signins == 5


def test_a_per_address_budget_applies_and_is_audited_once(make_app):
    app = make_app(CONSOLE_SIGNINS_PER_ADDRESS=3)
    make_operator(app, "boss@example.com")
    client = app.test_client()
    for _ in range(3):
        assert sign_in(client, "someone@example.com", "guess guess guess").status_code == 401
    for _ in range(2):
        refused = sign_in(client, "boss@example.com")
        assert refused.status_code == 429
        assert "Too many sign-in attempts" in refused.get_data(as_text=True)
    assert len(audits(app, "console.signin_rate_limited")) == 1
    assert not audits(app, "operator.signed_in")


@pytest.mark.parametrize("token", [None, "wrong-token"])
def test_a_form_without_the_right_csrf_token_changes_nothing(app, client, token):
    operator_id = make_operator(app, "boss@example.com")
    extra = {} if token is None else {"csrf_token": token}
    # Sign-in: refused before any check, nothing audited.
    answer = client.post(
        "/console/login", data={"email": "boss@example.com", "password": PASSWORD, **extra}
    )
    assert answer.status_code == 400 and "Nothing was changed" in answer.get_data(as_text=True)
    assert not audits(app, "operator.signed_in") and not audits(app, "operator.signin_failed")
    # Sign-out: the session goes on.
    sign_in(client, "boss@example.com")
    assert client.post("/console/logout", data=extra).status_code == 400
    assert client.get("/console").status_code == 200
    # Set password: the link stays unused and the password unchanged.
    with runtime(app).sessions() as session:
        link = operators.issue_password_link(session, "boss@example.com", "test")
    before = operator_row(app, operator_id).password_hash
    path = operators.set_password_path(link.token)
    new = "another long password"
    assert client.post(path, data={"password": new, "confirm": new, **extra}).status_code == 400
    stored = operator_row(app, operator_id)
    assert stored.password_hash == before and stored.password_token_hash is not None


def test_a_marketer_on_an_admin_page_gets_403_audited(app, client):
    make_operator(app, "boss@example.com", "admin")
    marketer_id = make_operator(app, "mia@example.com", "marketer")
    sign_in(client, "mia@example.com")
    answer = client.get("/console/operators")
    assert answer.status_code == 403 and "does not allow" in answer.get_data(as_text=True)
    [row] = audits(app, "console.forbidden")
    assert row.actor == f"operator:{marketer_id}" and row.subject == "GET /console/operators"
    assert row.details == {"role": "marketer", "needed": ["admin"]}

    admin = app.test_client()
    sign_in(admin, "boss@example.com")
    page = admin.get("/console/operators")
    assert page.status_code == 200 and "mia@example.com" in page.get_data(as_text=True)


def test_logout_ends_the_session_even_for_a_copied_cookie(app, client):
    make_operator(app, "boss@example.com")
    sign_in(client, "boss@example.com")
    copied = client.get_cookie("console_session", path="/console")
    assert copied is not None
    token = csrf_of(client, "/console")
    answer = client.post("/console/logout", data={"csrf_token": token})
    assert answer.status_code == 302 and "ended=signed_out" in answer.headers["Location"]
    assert client.get("/console").status_code == 302
    replay = app.test_client()
    replay.set_cookie("console_session", copied.value, path="/console")
    assert replay.get("/console").status_code == 302
    assert audits(app, "operator.signed_out")


def test_a_session_ends_after_idle_time(app, client):
    make_operator(app, "boss@example.com")
    sign_in(client, "boss@example.com")
    assert client.get("/console").status_code == 200
    with runtime(app).sessions() as session:
        session.execute(
            update(OperatorSession).values(last_seen_at=utcnow() - timedelta(minutes=31))
        )
        session.commit()
    answer = client.get("/console")
    assert answer.status_code == 302 and "ended=idle" in answer.headers["Location"]
    with runtime(app).sessions() as session:
        assert session.scalar(select(func.count()).select_from(OperatorSession)) == 0
    assert "without activity" in client.get(answer.headers["Location"]).get_data(as_text=True)


def test_a_signed_in_session_survives_short_of_the_idle_time(make_app):
    app = make_app(CONSOLE_IDLE_MINUTES=60)
    make_operator(app, "boss@example.com")
    client = app.test_client()
    sign_in(client, "boss@example.com")
    with runtime(app).sessions() as session:
        session.execute(
            update(OperatorSession).values(last_seen_at=utcnow() - timedelta(minutes=45))
        )
        session.commit()
    assert client.get("/console").status_code == 200


def test_totp_enrolment_then_sign_in_requires_the_code(app, client):
    operator_id = make_operator(app, "boss@example.com")
    sign_in(client, "boss@example.com")
    page = client.get("/console/account/2fa").get_data(as_text=True)
    assert 'src="data:image/svg+xml' in page
    secret = re.search(r'id="secret">([A-Z2-7]+)<', page).group(1)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    totp = pyotp.TOTP(secret)

    wrong = client.post("/console/account/2fa", data={"csrf_token": token, "code": "000000"})
    assert wrong.status_code == 422 and operator_row(app, operator_id).totp_secret is None
    on = client.post("/console/account/2fa", data={"csrf_token": token, "code": totp.now()})
    assert on.status_code == 200 and 'id="two-factor-state"' in on.get_data(as_text=True)
    stored = operator_row(app, operator_id)
    assert stored.totp_secret is not None and secret.encode() not in stored.totp_secret
    assert audits(app, "operator.second_factor_enabled")

    client.post("/console/logout", data={"csrf_token": csrf_of(client, "/console")})
    assert sign_in(client, "boss@example.com").status_code == 401  # no code
    assert sign_in(client, "boss@example.com", code="123456").status_code == 401
    # The enrolment used the current step's code; the next step's code is accepted once.
    code = totp.at(time.time() + 30)
    assert sign_in(client, "boss@example.com", code=code).status_code == 302
    assert client.get("/console").status_code == 200
    replay = app.test_client()
    assert sign_in(replay, "boss@example.com", code=code).status_code == 401


def test_the_cli_creates_an_operator_with_a_link_and_lists_it(app, client):
    runner = app.test_cli_runner()
    created = runner.invoke(args=["operators", "create", "Sam@Example.com", "--role", "support"])
    assert created.exit_code == 0, created.output
    link = created.output.strip().splitlines()[-1]
    assert link.startswith("https://gateway.test/console/set-password/")
    path = link.removeprefix("https://gateway.test")
    token = csrf_of(client, path)
    assert (
        client.post(
            path, data={"csrf_token": token, "password": PASSWORD, "confirm": PASSWORD}
        ).status_code
        == 200
    )
    listed = runner.invoke(args=["operators", "list"])
    assert "sam@example.com\tsupport\t2fa off\tactive\tlast sign-in never" in listed.output
    twice = runner.invoke(args=["operators", "create", "sam@example.com", "--role", "admin"])
    assert twice.exit_code != 0 and "already exists" in twice.output
    [row] = audits(app, "operator.created")
    assert row.actor == "cli" and row.details == {"after": {"role": "support"}}
