"""Console test helpers: operators made through the services, sign-in and CSRF tokens, audits."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from gateway.models.outbox import AuditEvent
from gateway.runtime import runtime
from gateway.services.console import operators

PASSWORD = "correct horse battery"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def make_operator(app: Flask, email: str, role: str = "admin", password: str = PASSWORD) -> int:
    """An operator with a password, through the services the CLI and the page use."""
    with runtime(app).sessions() as session:
        operator, link = operators.create_operator(session, email, role, "test")
        operators.set_password(session, link.token, password, password)
        return operator.id


def csrf_of(client: FlaskClient, path: str) -> str:
    """The CSRF token of the form on `path`."""
    page = client.get(path)
    match = _CSRF.search(page.get_data(as_text=True))
    assert match, page.get_data(as_text=True)
    return match.group(1)


def sign_in(
    client: FlaskClient, email: str, password: str = PASSWORD, code: str = ""
) -> TestResponse:
    """Post the sign-in form."""
    token = csrf_of(client, "/console/login")
    return client.post(
        "/console/login",
        data={"csrf_token": token, "email": email, "password": password, "code": code},
    )


def signed_in_client(app: Flask, role: str, email: str | None = None) -> FlaskClient:
    """A new test client signed in as a fresh operator with `role`."""
    client = app.test_client()
    address = email or f"{role}@console.example"
    make_operator(app, address, role)
    answer = sign_in(client, address)
    assert answer.status_code == 302, answer.get_data(as_text=True)
    return client


def post_form(
    client: FlaskClient, path: str, data: dict[str, str], form_path: str | None = None
) -> TestResponse:
    """Post `data` to `path` with the CSRF token of the form page (`form_path`, else `path`)."""
    token = csrf_of(client, form_path or path)
    return client.post(path, data={"csrf_token": token, **data})


def audits(app: Flask, action: str) -> list[AuditEvent]:
    """Audit rows of one action, oldest first."""
    with runtime(app).sessions() as session:
        return list(
            session.scalars(
                select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
            )
        )
