"""Where an enrollment came from (the page or the API) is kept for the reports; the page's
consents are recorded as given on the web."""

from __future__ import annotations

from sqlalchemy import select

from gateway.models import Consent, Enrollment, Member
from gateway.runtime import runtime
from tests.factories import demo_program


def _enroll(app, client, smtp, email: str, headers: dict[str, str]) -> Enrollment:
    demo_program(app)
    started = client.post(
        "/api/v1/enrollments",
        json={"program": "demo", "email": email, "consents": {"terms": True}},
        headers=headers,
    )
    assert started.status_code == 202
    enrollment_id = started.json["enrollment_id"]
    verified = client.post(
        f"/api/v1/enrollments/{enrollment_id}/verify", json={"code": smtp.last_code_for(email)}
    )
    assert verified.status_code == 200
    with runtime(app).sessions() as session:
        enrollment = session.get(Enrollment, enrollment_id)
        assert enrollment is not None
        session.expunge(enrollment)
        return enrollment


def _terms_channel(app, email: str) -> str:
    with runtime(app).sessions() as session:
        return session.scalars(
            select(Consent.channel)
            .join(Member, Member.id == Consent.member_id)
            .where(Member.email == email, Consent.kind == "terms")
        ).one()


def test_the_page_is_told_apart_from_the_api(mail_app, smtp):
    client = mail_app.test_client()
    page = _enroll(mail_app, client, smtp, "page@example.com", {"X-Enrollment-Channel": "page"})
    api = _enroll(mail_app, client, smtp, "api@example.com", {})
    other = _enroll(mail_app, client, smtp, "odd@example.com", {"X-Enrollment-Channel": "import"})
    assert (page.channel, api.channel, other.channel) == ("page", "api", "api")
    assert _terms_channel(mail_app, "page@example.com") == "web"
    assert _terms_channel(mail_app, "api@example.com") == "api"
