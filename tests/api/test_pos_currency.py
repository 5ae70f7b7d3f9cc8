"""The program's currency at the till: accruals and refunds in another currency are 422
`currency_mismatch` with nothing written; redemptions (points, not money) are not checked."""

from __future__ import annotations

from jsonschema import Draft202012Validator
from sqlalchemy import func, select

from gateway.models.pos import Accrual, Refund
from gateway.runtime import runtime
from gateway.services.operate.programs import edit_program
from pos_adapter.openapi import openapi_document
from tests.factories import enroll_member
from tests.integration.conftest import account_state, assert_ledger_consistent

DOC = openapi_document("https://gateway.test/")


def rows(app, model) -> int:
    with runtime(app).sessions() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def fits_the_error_schema(body) -> bool:
    schema = {"$ref": "#/components/schemas/Error", "components": DOC["components"]}
    return Draft202012Validator(schema).is_valid(body)


def test_an_accrual_in_another_currency_earns_nothing(app, till):
    member = enroll_member(app, balance=0)
    order = {"id": "J-1", "total": "10000", "currency": "JPY"}
    refused = till.accrue(order, card_number=member.card_number, key="k-1")
    assert refused.status_code == 422
    error = refused.json["error"]
    assert error["code"] == "currency_mismatch" and error["field"] == "order.currency"
    assert "EUR" in error["message"] and "JPY" in error["message"]
    assert fits_the_error_schema(refused.json)
    checkout = till.checkout(member.google_scan())
    assert till.accrue(order, checkout=checkout).json["error"]["code"] == "currency_mismatch"
    assert account_state(app, member.account_id) == (0, 0)
    assert rows(app, Accrual) == 0

    # Nothing was kept of the refused call: the same key and order id work in the right currency.
    fixed = till.accrue(
        {**order, "currency": "EUR", "total": "10"}, key="k-1", card_number=member.card_number
    )
    assert fixed.status_code == 201, fixed.json
    assert fixed.json["accrual"]["points"] == 10
    assert_ledger_consistent(app)


def test_the_currency_follows_the_program(app, till):
    member = enroll_member(app, balance=0)
    with runtime(app).sessions() as session:
        edit_program(
            session, "test", "demo", {"currency": "JPY", "points_per_currency_unit": "0.01"}, 1
        )
    euros = till.accrue(
        {"id": "E-1", "total": "100", "currency": "EUR"}, card_number=member.card_number
    )
    assert euros.status_code == 422 and euros.json["error"]["code"] == "currency_mismatch"
    yen = till.accrue(
        {"id": "Y-1", "total": "10000", "currency": "JPY"}, card_number=member.card_number
    )
    assert yen.status_code == 201 and yen.json["accrual"]["points"] == 100


def test_a_refund_in_another_currency_moves_nothing(app, till):
    member = enroll_member(app, balance=0)
    order = {"id": "R-1", "total": "100.00", "currency": "EUR"}
    assert till.accrue(order, card_number=member.card_number).status_code == 201
    refused = till.refund({"id": "R-1", "refund_total": "40.00", "currency": "USD"})
    assert refused.status_code == 422
    assert refused.json["error"]["code"] == "currency_mismatch"
    assert account_state(app, member.account_id) == (100, 0)
    assert rows(app, Refund) == 0
    malformed = till.refund({"id": "R-1", "refund_total": "40.00", "currency": "usd"})
    assert malformed.status_code == 422
    assert malformed.json["error"]["code"] == "validation_error"

    same = till.refund({"id": "R-1", "refund_total": "40.00", "currency": "EUR"})
    assert same.status_code == 201 and same.json["refund"]["points_reversed"] == 40
    unnamed = till.refund({"id": "R-1", "refund_total": "50.00", "refund_id": "second"})
    assert unnamed.status_code == 201 and unnamed.json["refund"]["points_reversed"] == 50
    assert account_state(app, member.account_id) == (10, 0)
    assert_ledger_consistent(app)


def test_a_redemption_with_an_order_in_another_currency_is_not_checked(app, till):
    member = enroll_member(app, balance=1000)
    checkout = till.checkout(member.google_scan())
    order = {"id": "U-1", "total": "5.00", "currency": "USD"}
    answer = till.redeem(checkout, reward_id="coffee", order=order)
    assert answer.status_code == 201, answer.json
    assert account_state(app, member.account_id) == (500, 0)


def test_the_code_is_documented_for_accruals_and_refunds():
    table = {entry["code"]: entry["status"] for entry in DOC["x-error-codes"]}
    assert table["currency_mismatch"] == 422
    assert "currency_mismatch" in DOC["components"]["schemas"]["ErrorCode"]["enum"]
    for path in ("/pos/v1/accruals", "/pos/v1/refunds"):
        answers = DOC["paths"][path]["post"]["responses"]["422"]["content"]["application/json"]
        assert "currency_mismatch" in answers["examples"], path
    redemptions = DOC["paths"]["/pos/v1/redemptions"]["post"]
    assert "currency_mismatch" not in str(redemptions["responses"])
    assert "not checked" in redemptions["description"]
    assert "currency" in DOC["components"]["schemas"]["RefundOrder"]["properties"]
