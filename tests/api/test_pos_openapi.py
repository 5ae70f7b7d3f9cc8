"""The published OpenAPI document of POS protocol v1 matches the contract (pos-api.md)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from pos_adapter.docs import bp as docs_bp
from pos_adapter.openapi import openapi_document

# The contract, copied from ../shared/design/pos-api.md (checked against it when it is there).
CONTRACT_OPERATIONS = {
    ("post", "/pos/v1/identify"),
    ("post", "/pos/v1/redemptions"),
    ("post", "/pos/v1/redemptions/{redemption_id}/capture"),
    ("post", "/pos/v1/redemptions/{redemption_id}/void"),
    ("post", "/pos/v1/accruals"),
    ("post", "/pos/v1/refunds"),
    ("get", "/pos/v1/cards/{number}"),
}
MUTATING = CONTRACT_OPERATIONS - {("post", "/pos/v1/identify"), ("get", "/pos/v1/cards/{number}")}
CONTRACT_ERRORS = {
    "malformed_scan": 400, "validation_error": 422, "unauthorized": 401, "unknown_card": 404,
    "code_rejected": 422, "code_already_used": 409, "card_locked": 423, "card_revoked": 410,
    "checkout_expired": 401, "insufficient_points": 409, "limit_reached": 409,
    "reward_unavailable": 409, "idempotency_key_reused": 422, "idempotency_in_progress": 409,
    "rate_limited": 429, "not_found": 404,
}
CONTRACT_FILE = Path(__file__).resolve().parents[2].parent / "shared" / "design" / "pos-api.md"

DOC = openapi_document("https://gateway.test/")


def _operations(doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            yield method, path, operation


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = DOC
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def _validator(schema: dict[str, Any]) -> Draft202012Validator:
    """A JSON Schema 2020-12 validator whose #/components refs resolve in the document."""
    return Draft202012Validator({**schema, "components": DOC["components"]})


def test_document_is_valid_openapi() -> None:
    validate(DOC)
    assert DOC["openapi"].startswith("3.1")
    assert DOC["servers"] == [{"url": "https://gateway.test", "description": "This gateway"}]


def test_every_contract_endpoint_is_present() -> None:
    operations = {(method, path) for method, path, _ in _operations(DOC)}
    assert operations == CONTRACT_OPERATIONS


@pytest.mark.skipif(not CONTRACT_FILE.exists(), reason="shared design folder not beside the repo")
def test_contract_copy_is_current() -> None:
    text = CONTRACT_FILE.read_text()
    mentioned = {
        (method.lower(), re.sub(r"<(\w+)>", r"{\1}", path).replace("{id}", "{redemption_id}"))
        for method, path in re.findall(r"`(GET|POST) (/pos/v1/[^`\s]+)`", text)
    }
    assert mentioned == CONTRACT_OPERATIONS
    codes = dict(re.findall(r"`(\w+)`(?: \(.*?\))? (\d{3})", text))
    assert {code: int(status) for code, status in codes.items()} == CONTRACT_ERRORS


def test_every_error_code_is_enumerated_with_its_status() -> None:
    enumerated = DOC["components"]["schemas"]["ErrorCode"]["enum"]
    table = {entry["code"]: entry["status"] for entry in DOC["x-error-codes"]}
    assert set(table) == set(enumerated)
    for code, status in CONTRACT_ERRORS.items():
        assert table.get(code) == status, code
    envelope = DOC["components"]["schemas"]["Error"]
    assert envelope["required"] == ["error"]
    assert envelope["properties"]["error"]["required"] == ["code", "message"]


def test_error_responses_list_codes_under_their_status() -> None:
    table = {entry["code"]: entry["status"] for entry in DOC["x-error-codes"]}
    used: set[str] = set()
    for method, path, operation in _operations(DOC):
        for status, response in operation["responses"].items():
            if status.startswith("2"):
                continue
            examples = response["content"]["application/json"]["examples"]
            for code in examples:
                assert table[code] == int(status), (method, path, code)
                used.add(code)
            if status == "429":
                assert "Retry-After" in response["headers"]
        assert "401" in operation["responses"], (method, path)
    assert used >= set(CONTRACT_ERRORS)


def test_bearer_auth_on_every_operation() -> None:
    scheme = DOC["components"]["securitySchemes"]["terminalKey"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    assert DOC["security"] == [{"terminalKey": []}]
    assert all("security" not in operation for _, _, operation in _operations(DOC))


def test_idempotency_key_required_on_every_mutating_post() -> None:
    for method, path, operation in _operations(DOC):
        headers = [
            _resolve(param) for param in operation.get("parameters", [])
            if _resolve(param)["in"] == "header"
        ]
        keys = [param for param in headers if param["name"] == "Idempotency-Key"]
        if (method, path) in MUTATING:
            assert len(keys) == 1 and keys[0]["required"] is True, path
            assert keys[0]["schema"]["maxLength"] == 255
            missing = operation["responses"]["400"]["content"]["application/json"]["examples"]
            assert "idempotency_key_missing" in missing, path
        elif method == "get":
            assert keys == []


def test_contract_fields_are_in_the_schemas() -> None:
    schemas = DOC["components"]["schemas"]

    def fields(name: str) -> set[str]:
        return set(schemas[name]["properties"])

    assert fields("IdentifyResponse") == {"checkout", "card", "member", "balance", "rewards"}
    assert fields("Checkout") == {"token", "expires_at"}
    assert fields("Card") >= {"number", "wallet", "status"}
    assert schemas["Card"]["properties"]["wallet"]["enum"] == ["apple", "google"]
    assert fields("Member") == {"display_name", "tier"}
    assert fields("Balance") == {"points", "held"}
    assert fields("RewardOffer") == {"id", "name", "cost_points", "available"}
    assert fields("RedemptionRequest") == {"checkout", "reward_id", "points", "order", "capture"}
    assert fields("Redemption") >= {"id", "status", "points", "reward", "discount"}
    assert fields("Order") == {"id", "total", "currency"}
    assert fields("AccrualRequest") == {"checkout", "card_number", "order"}
    assert fields("Accrual") == {"id", "points"}
    assert fields("RefundOrder") >= {"id", "refund_total"}


def _media_examples() -> Iterator[tuple[str, dict[str, Any], Any]]:
    for method, path, operation in _operations(DOC):
        media_list = [("request", operation["requestBody"]["content"]["application/json"])] \
            if "requestBody" in operation else []
        media_list += [
            (status, _resolve(response)["content"]["application/json"])
            for status, response in operation["responses"].items()
        ]
        for where, media in media_list:
            label = f"{method} {path} {where}"
            if "example" in media:
                yield label, media["schema"], media["example"]
            for name, example in media.get("examples", {}).items():
                yield f"{label} {name}", media["schema"], example["value"]


def test_every_example_matches_its_schema() -> None:
    examples = list(_media_examples())
    assert len(examples) > 30
    for label, schema, value in examples:
        errors = list(_validator(schema).iter_errors(value))
        assert errors == [], (label, [error.message for error in errors])


def test_schemas_reject_what_the_contract_forbids() -> None:
    redemption = _validator({"$ref": "#/components/schemas/RedemptionRequest"})
    assert not redemption.is_valid({"checkout": "c", "reward_id": "coffee", "points": 5})
    assert not redemption.is_valid({"checkout": "c"})
    assert not redemption.is_valid({"checkout": "c", "points": 0})
    accrual = _validator({"$ref": "#/components/schemas/AccrualRequest"})
    assert not accrual.is_valid({"order": {"id": "1", "total": "1.00"}})
    assert not accrual.is_valid({"card_number": "7000000000000019", "order": {"id": "1"}})
    order = {"id": "1", "total": 1, "currency": "EUR"}
    assert accrual.is_valid({"card_number": "7000000000000019", "order": order})
    refund = _validator({"$ref": "#/components/schemas/RefundRequest"})
    assert not refund.is_valid({"order": {"id": "1", "refund_total": "1.005"}})
    assert not refund.is_valid({"order": {"id": "1", "refund_total": 0}})
    error = _validator({"$ref": "#/components/schemas/Error"})
    assert not error.is_valid({"error": {"code": "teapot", "message": "no"}})


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    """The gateway, with the docs blueprint whether or not the POS package registered it yet."""
    app = make_app()
    if "pos_docs" not in app.blueprints:
        app.register_blueprint(docs_bp)
    return app


def test_served_document_names_this_host(app: Flask) -> None:
    answer = app.test_client().get("/pos/v1/openapi.json", base_url="http://till-gw.local:8080")
    assert answer.status_code == 200
    assert answer.mimetype == "application/json"
    served = answer.get_json()
    assert served == openapi_document("http://till-gw.local:8080/")
    assert served["servers"][0]["url"] == "http://till-gw.local:8080"
    assert next(iter(served["paths"])) == "/pos/v1/identify"
    validate(served)
