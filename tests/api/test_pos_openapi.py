"""The published OpenAPI document of POS protocol v1 matches the contract (pos-api.md)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from gateway.pos.terminals import create_store, create_terminal
from gateway.runtime import runtime
from passes.codes import luhn_check_digit
from pos_adapter.openapi import openapi_document
from tests.factories import demo_program, enroll_member

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
    "rate_limited": 429, "not_found": 404, "idempotency_key_missing": 400,
    "idempotency_key_invalid": 400, "invalid_json": 400, "payload_too_large": 413,
    "hold_expired": 409, "redemption_voided": 409, "database_unavailable": 503,
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
    assert fields("Member") >= {"display_name", "tier"}
    assert fields("Balance") == {"points", "held"}
    assert fields("RewardOffer") == {"id", "name", "cost_points", "available"}
    assert fields("RedemptionRequest") == {"checkout", "reward_id", "points", "order", "capture"}
    assert fields("Redemption") >= {"id", "status", "points", "reward", "discount"}
    assert fields("Order") == {"id", "total", "currency"}
    assert fields("AccrualRequest") == {"checkout", "card_number", "order"}
    assert fields("Accrual") >= {"id", "points"}
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


def test_served_document_names_this_host(app: Flask) -> None:
    answer = app.test_client().get("/pos/v1/openapi.json", base_url="http://till-gw.local:8080")
    assert answer.status_code == 200
    assert answer.mimetype == "application/json"
    served = answer.get_json()
    assert served == openapi_document("http://till-gw.local:8080/")
    assert served["servers"][0]["url"] == "http://till-gw.local:8080"
    assert next(iter(served["paths"])) == "/pos/v1/identify"
    validate(served)


def _template(path: str) -> str:
    """The document's path template of a concrete request path."""
    for template in DOC["paths"]:
        pattern = re.sub(r"\\{\w+\\}", "[^/]+", re.escape(template))
        if re.fullmatch(pattern, path):
            return str(template)
    raise AssertionError(f"{path} is not in the document")


def test_gateway_answers_match_the_document(app: Flask) -> None:
    """Every answer of the real gateway, success or error, is documented and fits its schema."""
    demo_program(app)
    member = enroll_member(app, balance=2000, tier="Gold")
    with app.app_context(), runtime(app).sessions() as session:
        create_store(session, "S1", "Main street", "demo")
        keys = [create_terminal(session, "S1", name)[1] for name in ("till 1", "till 2")]
    client = app.test_client()
    seen: list[tuple[str, str, int, str]] = []
    counter = iter(range(10**6))

    def call(method: str, path: str, body: Any = None, *, key: str | None = "auto",
             terminal: int | None = 0, raw: bytes | None = None) -> Any:
        headers = {} if terminal is None else {"Authorization": f"Bearer {keys[terminal]}"}
        if key is not None and method == "POST":
            headers["Idempotency-Key"] = f"k-{next(counter)}" if key == "auto" else key
        if raw is not None:
            answer = client.open(path, method=method, data=raw, headers=headers,
                                 content_type="application/json")
        else:
            answer = client.open(path, method=method, json=body, headers=headers)
        operation = DOC["paths"][_template(path)][method.lower()]
        documented = operation["responses"]
        assert str(answer.status_code) in documented, (method, path, answer.status_code)
        schema = documented[str(answer.status_code)]["content"]["application/json"]["schema"]
        data = answer.get_json()
        problems = [error.message for error in _validator(schema).iter_errors(data)]
        assert problems == [], (method, path, answer.status_code, data, problems)
        code = data["error"]["code"] if answer.status_code >= 400 else ""
        if code:
            examples = documented[str(answer.status_code)]["content"]["application/json"]
            assert code in examples["examples"], (method, path, code)
        seen.append((method, path, answer.status_code, code))
        return data

    unknown = "700000000000099" + luhn_check_digit("700000000000099")
    scan = member.apple_scan()
    found = call("POST", "/pos/v1/identify", {"scan": scan})
    token = found["checkout"]["token"]
    call("POST", "/pos/v1/identify", {"scan": scan}, terminal=1)
    call("POST", "/pos/v1/identify", {"scan": "garbage"})
    call("POST", "/pos/v1/identify", {"scan": member.card_number + "-00000000"}, key=None)
    call("POST", "/pos/v1/identify", {"scan": unknown + "-12345678"})
    call("POST", "/pos/v1/identify", raw=b"not json")
    call("GET", f"/pos/v1/cards/{member.card_number}", terminal=None)

    coffee = call("POST", "/pos/v1/redemptions", {"checkout": token, "reward_id": "coffee",
                                                  "order": {"id": "O-1"}})
    held = call("POST", "/pos/v1/redemptions", {"checkout": token, "points": 100,
                                                "capture": False})
    call("POST", "/pos/v1/redemptions", {"checkout": token, "points": 1}, key=None)
    call("POST", "/pos/v1/redemptions", {"checkout": token, "points": 99_999})
    call("POST", "/pos/v1/redemptions", {"checkout": token, "points": -1})
    call("POST", "/pos/v1/redemptions", {"checkout": "co_nope", "points": 1})
    call("POST", "/pos/v1/redemptions", {"checkout": token, "reward_id": "yacht"})
    call("POST", "/pos/v1/redemptions", {"checkout": token, "points": 2}, key="dup")
    call("POST", "/pos/v1/redemptions", {"checkout": token, "points": 3}, key="dup")
    held_id = held["redemption"]["id"]
    call("POST", f"/pos/v1/redemptions/{held_id}/capture")
    call("POST", f"/pos/v1/redemptions/{held_id}/void")
    call("POST", f"/pos/v1/redemptions/{held_id}/capture")
    call("POST", "/pos/v1/redemptions/rdm_unknown/void")
    assert coffee["redemption"]["reward"]["id"] == "coffee"

    order = {"id": "O-1", "total": "25.00", "currency": "EUR"}
    call("POST", "/pos/v1/accruals", {"checkout": token, "order": order})
    call("POST", "/pos/v1/accruals", {"card_number": member.card_number, "order": order})
    call("POST", "/pos/v1/accruals", {"card_number": unknown, "order": order})
    call("POST", "/pos/v1/accruals", {"card_number": member.card_number, "order": {"id": "x"}})
    call("POST", "/pos/v1/refunds", {"order": {"id": "O-1", "refund_total": "10.00"}})
    call("POST", "/pos/v1/refunds", {"order": {"id": "O-1", "refund_total": "10.00"}})
    call("POST", "/pos/v1/refunds", {"order": {"id": "nope", "refund_total": "1.00"}})
    call("GET", f"/pos/v1/cards/{member.card_number}")
    call("GET", "/pos/v1/cards/1234")
    call("GET", f"/pos/v1/cards/{unknown}")

    statuses = {(method, _template(path), status) for method, path, status, _ in seen}
    assert len(statuses) >= 20
    codes = {code for *_, code in seen if code}
    assert codes >= {"malformed_scan", "code_already_used", "code_rejected", "unknown_card",
                     "invalid_json", "unauthorized", "idempotency_key_missing",
                     "insufficient_points", "validation_error", "checkout_expired",
                     "not_found", "idempotency_key_reused", "redemption_voided"}


def _example_values(node: Any) -> Iterator[Any]:
    """Every example value of the document (request and response examples)."""
    if isinstance(node, dict):
        if "example" in node:
            yield node["example"]
        for example in (node.get("examples") or {}).values() if isinstance(
            node.get("examples"), dict
        ) else ():
            if isinstance(example, dict) and "value" in example:
                yield example["value"]
        for value in node.values():
            yield from _example_values(value)
    elif isinstance(node, list):
        for value in node:
            yield from _example_values(value)


def test_every_example_scan_and_card_number_parses():
    from passes.codes import parse_scan

    document = openapi_document("https://gateway.example/")
    scans = [v["scan"] for v in _example_values(document) if isinstance(v, dict) and "scan" in v]
    assert scans
    for scan in scans:
        assert parse_scan(scan).card_number.isdigit()
    numbers = re.findall(r"\b7\d{15}\b", str(document))
    assert numbers
    for number in numbers:
        assert luhn_check_digit(number[:-1]) == number[-1], number


def test_the_schema_states_the_rules_the_server_enforces():
    schemas = openapi_document("https://gateway.example/")["components"]["schemas"]
    money = schemas["Order"]["properties"]["total"]
    assert money["multipleOf"] == 0.01 and "2 decimals" in money["description"]
    assert re.fullmatch(money["pattern"], "12.50") and not re.fullmatch(money["pattern"], "1.005")
    for name in ("RedemptionRequest", "AccrualRequest"):
        checkout = schemas[name]["properties"]["checkout"]
        assert checkout["minLength"] == 1
        text = Draft202012Validator({"type": "string", "pattern": checkout["pattern"]})
        assert text.is_valid("co_x")
        assert not text.is_valid("co_\u0000x")
        assert not text.is_valid("   ")


def test_405_answers_name_the_allowed_methods(client):
    response = client.get("/pos/v1/identify")
    assert response.status_code == 405
    assert response.json["error"]["code"] == "method_not_allowed"
    assert "POST" in response.headers["Allow"]
    assert client.delete("/api/v1/enrollments").headers["Allow"]
