"""Inputs that once gave a 500: NUL bytes, deep JSON, huge update tags, 32-bit balances."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from gateway.domain.pos_requests import MAX_BALANCE
from gateway.models.program import Program
from gateway.runtime import runtime
from tests.factories import demo_program, enroll_member
from tests.integration.conftest import assert_ledger_consistent, new_till

NUL_URLS = [
    ("GET", "/enroll/de%00mo"),
    ("GET", "/enroll/de%00mo/qr.svg"),
    ("GET", "/api/v1/programs/demo/images/icon%00.png"),
    ("GET", "/api/v1/programs/de%00mo/images/icon.png"),
    ("POST", "/api/v1/enrollments/enr_%00x/verify"),
    ("POST", "/pos/v1/redemptions/rdm_%00x/capture"),
    ("POST", "/pos/v1/redemptions/rdm_%00x/void"),
    ("GET", "/pos/v1/cards/7000%0000000000013"),
    ("GET", "/wallet/apple/v1/devices/dev%00ice/registrations/pass.x"),
    ("GET", "/wallet/apple/v1/devices/device/registrations/pass.x?passesUpdatedSince=1%00"),
    ("POST", "/wallet/apple/v1/devices/dev%00/registrations/pass.x/serial"),
]


@pytest.mark.parametrize(("method", "url"), NUL_URLS)
def test_nul_in_the_url_is_refused_with_a_code(app, method, url):
    demo_program(app)
    till = new_till(app)
    response = till.client.open(url, method=method, json={}, headers=till.headers())
    if "?" in url:
        assert response.status_code == 400, response.data
        assert response.json["error"]["code"] == "invalid_url"
    else:
        # A path with a control character names no resource of ours.
        assert response.status_code == 404, response.data
        assert response.json["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    "body",
    [
        {"program": "de\u0000mo", "email": "a@example.com", "consents": {"terms": True}},
        {"program": "demo", "email": "a\u0000@example.com", "consents": {"terms": True}},
        {"program": "demo", "email": "a@example.com", "consents": {"ter\u0000ms": True}},
    ],
)
def test_nul_in_an_enrollment_body_is_a_validation_error(app, client, body):
    demo_program(app)
    response = client.post("/api/v1/enrollments", json=body)
    assert response.status_code == 422, response.data
    assert response.json["error"]["code"] == "validation_error"


def test_nul_in_pos_body_fields_is_a_validation_error(app):
    till = new_till(app)
    member = enroll_member(app, balance=100)
    order = {"id": "A\u00001", "total": "1.00", "currency": "EUR"}
    response = till.accrue(order, card_number=member.card_number)
    assert response.status_code == 422 and response.json["error"]["code"] == "validation_error"
    response = till.refund({"id": "A-1", "refund_total": "1.00", "refund_id": "r\u00001"})
    assert response.status_code == 422 and response.json["error"]["code"] == "validation_error"


@pytest.mark.parametrize(
    ("path", "depth"), [("/api/v1/enrollments", 30_000), ("/pos/v1/identify", 8_000)]
)
def test_deeply_nested_json_is_invalid_json(app, path, depth):
    till = new_till(app)
    body = b"[" * depth + b"]" * depth
    response = till.client.post(
        path, data=body, content_type="application/json", headers=till.headers()
    )
    assert response.status_code == 400, response.data
    assert response.json["error"]["code"] == "invalid_json"


def test_moderately_nested_json_past_the_depth_cap_is_invalid_json(client):
    body = {"program": "demo", "email": "a@example.com", "consents": {"terms": True}}
    nested: object = body
    for _ in range(40):
        nested = {"x": nested}
    response = client.post("/api/v1/enrollments", json=nested)
    assert response.status_code == 400 and response.json["error"]["code"] == "invalid_json"


@pytest.mark.parametrize("tag", ["99999999999999999999", str(2**64), "9" * 40, "\u00b2"])
def test_update_tag_beyond_any_date_is_a_400(app, client, tag):
    pass_type = runtime(app).credentials.apple_signer.pass_type_id
    response = client.get(
        f"/wallet/apple/v1/devices/device1/registrations/{pass_type}",
        query_string={"passesUpdatedSince": tag},
    )
    assert response.status_code == 400, response.data
    assert response.json["error"]["code"] == "validation_error"


def test_balances_go_past_32_bits(app):
    till = new_till(app)
    member = enroll_member(app, balance=2**31 - 100)
    for n in range(2):
        response = till.accrue(
            {"id": f"big-{n}", "total": "10000000.00", "currency": "EUR"},
            card_number=member.card_number,
        )
        assert response.status_code == 201, response.json
    assert response.json["balance"]["points"] > 2**31
    assert till.get(f"/cards/{member.card_number}").json["balance"]["points"] > 2**31
    assert_ledger_consistent(app)


def test_an_accrual_cannot_push_a_balance_past_the_cap(app):
    till = new_till(app)
    member = enroll_member(app, balance=MAX_BALANCE - 10)
    response = till.accrue(
        {"id": "over", "total": "100.00", "currency": "EUR"}, card_number=member.card_number
    )
    assert response.status_code == 422, response.json
    assert response.json["error"] == {
        "code": "validation_error",
        "message": response.json["error"]["message"],
        "field": "order.total",
    }
    assert till.get(f"/cards/{member.card_number}").json["balance"]["points"] == MAX_BALANCE - 10
    assert_ledger_consistent(app)


def test_an_absurd_accrual_is_a_validation_error(app):
    till = new_till(app)
    member = enroll_member(app, balance=0)
    with runtime(app).engine.begin() as conn:
        conn.execute(update(Program).values(points_per_currency_unit=999_999))
    response = till.accrue(
        {"id": "absurd", "total": "10000000.00", "currency": "EUR"},
        card_number=member.card_number,
    )
    assert response.status_code == 422, response.json
    assert response.json["error"]["field"] == "order.total"
    assert_ledger_consistent(app)
