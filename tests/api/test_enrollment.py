"""Enrollment through the API: digitize an existing CRM card or create the member; bad input."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from gateway.models import Card, Consent, CrmCardEvent, CrmMember, LedgerEntry, Member, WalletPass
from gateway.runtime import runtime
from gateway.services.keep_live.outbox import deliver_pending
from passes.codes import is_valid_card_number
from tests.api.enrollment_helpers import enroll, start
from tests.factories import demo_program


@pytest.fixture
def mail_client(mail_app):
    return mail_app.test_client()


def _count(app, model) -> int:
    with runtime(app).sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_existing_crm_member_gets_the_same_card_balance_tier_and_discount(
    mail_app, mail_client, smtp
):
    answer = enroll(mail_client, smtp, "ana@example.com")
    deliver_pending(runtime(mail_app))  # the worker tells the CRM

    assert answer["digitized_existing"] is True
    member = answer["member"]
    with runtime(mail_app).sessions() as session:
        crm = session.scalars(select(CrmMember).where(CrmMember.email == "ana@example.com")).one()
        ledger_sum = session.scalar(select(func.sum(LedgerEntry.points)))
        linked = session.scalars(select(CrmCardEvent)).all()
    assert member["card_number"] == crm.card_number
    assert (member["balance"], member["tier"], member["discount_percent"]) == (2000, "Gold", 10)
    assert ledger_sum == 2000
    assert [event.kind for event in linked] == ["card.linked"]
    assert linked[0].payload["card_number"] == crm.card_number
    assert {p["wallet"] for p in linked[0].payload["passes"]} == {"apple", "google"}
    # Serials, ids and non-bearer references: never the download or save link.
    references = {p["url"] for p in linked[0].payload["passes"]}
    assert answer["apple"]["pkpass_url"] not in references
    assert answer["google"]["save_url"] not in references
    apple = next(p for p in linked[0].payload["passes"] if p["wallet"] == "apple")
    type_id = runtime(mail_app).credentials.apple_signer.pass_type_id
    assert apple["url"] == f"https://gateway.test/wallet/apple/v1/passes/{type_id}/{apple['serial']}"


def test_unknown_contact_is_created_in_the_crm_with_consents(mail_app, mail_client, smtp):
    answer = enroll(
        mail_client,
        smtp,
        "new.person@example.com",
        name="New Person",
        locale="pt-BR",
        consents={"terms": True, "marketing": True},
    )

    assert answer["digitized_existing"] is False
    assert is_valid_card_number(answer["member"]["card_number"])
    with runtime(mail_app).sessions() as session:
        crm = session.scalars(
            select(CrmMember).where(CrmMember.email == "new.person@example.com")
        ).one()
        consents = session.scalars(select(Consent).order_by(Consent.kind)).all()
        member = session.scalars(select(Member)).one()
    assert crm.card_number == answer["member"]["card_number"]
    assert crm.consents["terms"]["granted"] is True
    assert crm.consents["marketing"]["text_version"]
    assert [(c.kind, c.granted, c.channel) for c in consents] == [
        ("marketing", True, "api"),
        ("terms", True, "api"),
    ]
    assert all(c.recorded_at is not None and c.text_version for c in consents)
    assert member.locale == "pt-BR"


def test_enrolling_the_same_contact_twice_gives_the_same_member_and_cards(
    mail_app, mail_client, smtp
):
    first = enroll(mail_client, smtp, "ben@example.com")
    second = enroll(mail_client, smtp, "BEN@example.com")

    assert first["member"]["id"] == second["member"]["id"]
    assert first["member"]["card_number"] == second["member"]["card_number"]
    assert _count(mail_app, Member) == 1
    assert _count(mail_app, Card) == 1
    assert _count(mail_app, WalletPass) == 2
    # The newest download link works; the first one was replaced.
    assert mail_client.get(_path(second["apple"]["pkpass_url"])).status_code == 200
    old = mail_client.get(_path(first["apple"]["pkpass_url"]))
    assert old.status_code == 404 and old.json["error"]["code"] == "not_found"


def _path(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)


def test_answer_is_202_whether_or_not_the_contact_is_a_member(mail_client):
    known = mail_client.post(
        "/api/v1/enrollments",
        json={"program": "demo", "email": "ana@example.com", "consents": {"terms": True}},
    )
    unknown = mail_client.post(
        "/api/v1/enrollments",
        json={"program": "demo", "email": "nobody@example.com", "consents": {"terms": True}},
    )
    assert known.status_code == unknown.status_code == 202
    assert set(known.json) == set(unknown.json) == {"enrollment_id", "verify_via"}
    assert known.json["verify_via"] == "email"


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        ({"email": "not-an-email"}, 422, "validation_error", "email"),
        ({"phone": "12345"}, 422, "validation_error", "phone"),
        ({"email": "a@example.com", "locale": "english please"}, 422, "validation_error", "locale"),
        (
            {"email": "a@example.com", "consents": {"terms": False}},
            422,
            "validation_error",
            "consents.terms",
        ),
        ({"email": "a@example.com", "consents": {}}, 422, "validation_error", "consents.terms"),
        (
            {"email": "a@example.com", "consents": {"terms": True, "marketing": "yes"}},
            422,
            "validation_error",
            "consents.marketing",
        ),
        ({"email": "a@example.com", "program": "nope"}, 404, "unknown_program", "program"),
        ({"email": "a@example.com", "phone": "+15551234567"}, 422, "validation_error", "email"),
        ({"email": ["a@example.com"]}, 422, "validation_error", "email"),
    ],
)
def test_bad_enrollment_input_names_the_field(mail_app, mail_client, body, status, code, field):
    payload = {"program": "demo", "consents": {"terms": True}} | body
    response = mail_client.post("/api/v1/enrollments", json=payload)
    assert response.status_code == status
    assert response.json["error"]["code"] == code
    assert response.json["error"]["field"] == field
    assert _count(mail_app, Member) == 0


def test_body_that_is_not_a_json_object_is_a_400(mail_client):
    response = mail_client.post(
        "/api/v1/enrollments", data="[1, 2", content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json["error"]["code"] == "invalid_json"


def test_wrong_codes_are_limited_then_the_enrollment_dies(mail_app, mail_client, smtp):
    enrollment_id = start(mail_client, email="ana@example.com")
    right = smtp.last_code_for("ana@example.com")
    wrong = f"{(int(right) + 1) % 10**6:06d}"
    url = f"/api/v1/enrollments/{enrollment_id}/verify"
    left = []
    for _ in range(4):
        response = mail_client.post(url, json={"code": wrong})
        assert response.status_code == 422
        assert response.json["error"]["code"] == "invalid_code"
        left.append(response.json["error"]["attempts_left"])
    assert left == [4, 3, 2, 1]
    final = mail_client.post(url, json={"code": wrong})
    assert final.status_code == 410 and final.json["error"]["code"] == "enrollment_expired"
    too_late = mail_client.post(url, json={"code": right})
    assert too_late.status_code == 410
    assert _count(mail_app, Member) == 0


def test_unknown_enrollment_is_404(mail_client):
    response = mail_client.post("/api/v1/enrollments/enr_nope/verify", json={"code": "123456"})
    assert response.status_code == 404 and response.json["error"]["code"] == "not_found"


def test_expired_enrollment_is_410(make_app, smtp):
    app = make_app(
        NOTIFIER="smtp", SMTP_HOST=smtp.host, SMTP_PORT=smtp.port, ENROLLMENT_TTL_SECONDS=-1
    )
    demo_program(app)
    client = app.test_client()
    enrollment_id = start(client, email="ana@example.com")
    code = smtp.last_code_for("ana@example.com")
    response = client.post(f"/api/v1/enrollments/{enrollment_id}/verify", json={"code": code})
    assert response.status_code == 410


def test_phone_enrollment_is_verified_by_sms(make_app):
    app = make_app(NOTIFIER="smtp", SMS_BASE_URL="http://127.0.0.1:9")
    demo_program(app)
    response = app.test_client().post(
        "/api/v1/enrollments",
        json={"program": "demo", "phone": "+1 (555) 000-0009", "consents": {"terms": True}},
    )
    # The SMS gateway is down: a clear 503, and the enrollment is not left usable.
    assert response.status_code == 503
    assert response.json["error"]["code"] == "notifier_unavailable"


def test_too_many_enrollments_for_one_contact_are_rate_limited(make_app, smtp):
    # Every enrollment dies at once (TTL -1), so each request opens a new one: the sixth within
    # the hour is refused.
    app = make_app(
        NOTIFIER="smtp", SMTP_HOST=smtp.host, SMTP_PORT=smtp.port, ENROLLMENT_TTL_SECONDS=-1
    )
    demo_program(app)
    client = app.test_client()
    for _ in range(5):
        start(client, email="ben@example.com")
    response = client.post(
        "/api/v1/enrollments",
        json={"program": "demo", "email": "ben@example.com", "consents": {"terms": True}},
    )
    assert response.status_code == 429
    assert response.json["error"]["code"] == "rate_limited"
    assert response.headers["Retry-After"]
