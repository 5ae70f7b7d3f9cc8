"""Enrolling through the public API, reading the code from the local SMTP server."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from tests.fakes.smtp_server import FakeSmtpServer


def start(client: FlaskClient, **body: Any) -> str:
    """POST an enrollment; asserts the 202 and returns the enrollment id."""
    payload = {"program": "demo", "consents": {"terms": True}} | body
    response = client.post("/api/v1/enrollments", json=payload)
    assert response.status_code == 202, response.json
    return str(response.json["enrollment_id"])


def enroll(client: FlaskClient, smtp: FakeSmtpServer, email: str, **body: Any) -> dict[str, Any]:
    """Enroll and verify by e-mail; returns the verify answer."""
    enrollment_id = start(client, email=email, **body)
    code = smtp.last_code_for(email)
    response = client.post(f"/api/v1/enrollments/{enrollment_id}/verify", json={"code": code})
    assert response.status_code == 200, response.json
    return dict(response.json)
