"""/admin/v1/openapi.json: a valid OpenAPI 3.1 document that matches the routes exactly (every
route described, every description routed), with the error answers; every operation but the
document itself needs a key."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from openapi_spec_validator import validate

ADMIN = "/admin/v1"
_CONVERTER = re.compile(r"<(?:[a-z]+:)?([a-z_]+)>")
_IGNORED = {"HEAD", "OPTIONS"}


def routed(app: Flask) -> set[tuple[str, str]]:
    """(method, OpenAPI path relative to /admin/v1) of every Flask route under /admin/v1."""
    found = set()
    for rule in app.url_map.iter_rules():
        if rule.rule == ADMIN or rule.rule.startswith(ADMIN + "/"):
            path = _CONVERTER.sub(r"{\1}", rule.rule.removeprefix(ADMIN))
            for method in (rule.methods or set()) - _IGNORED:
                found.add((method.lower(), path))
    return found


def described(document: dict[str, Any]) -> set[tuple[str, str]]:
    return {(method, path) for path, item in document["paths"].items() for method in item}


def test_the_document_is_valid_openapi_3_1(client):
    answer = client.get("/admin/v1/openapi.json")
    assert answer.status_code == 200
    document = answer.get_json()
    assert document["openapi"].startswith("3.1")
    validate(document)  # raises with the first problem
    assert document["components"]["securitySchemes"]["apiKey"]["scheme"] == "bearer"


def test_every_admin_route_is_described(app, client):
    document = client.get("/admin/v1/openapi.json").get_json()
    missing = routed(app) - described(document)
    assert not missing, f"routes without a describe() entry: {sorted(missing)}"


def test_every_described_operation_is_routed(app, client):
    document = client.get("/admin/v1/openapi.json").get_json()
    missing = described(document) - routed(app)
    assert not missing, f"describe() entries without a route: {sorted(missing)}"


def test_operations_have_unique_ids_and_the_error_answers(client):
    document = client.get("/admin/v1/openapi.json").get_json()
    ids: list[str] = []
    lacking: list[str] = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            ids.append(operation.get("operationId", f"(none: {method} {path})"))
            if operation.get("security") == []:
                continue  # public (the document itself)
            if not {"401", "403"} <= set(operation.get("responses", {})):
                lacking.append(f"{method.upper()} {path}")
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    assert not lacking, f"operations without 401/403 answers: {lacking}"


def test_every_operation_but_the_document_needs_a_key(app, client):
    public = {("get", "/openapi.json")}
    open_doors = []
    for method, path in sorted(routed(app) - public):
        concrete = re.sub(r"\{[a-z_]+\}", "1", ADMIN + path)
        answer = client.open(concrete, method=method.upper(), json={})
        if answer.status_code != 401 or "WWW-Authenticate" not in answer.headers:
            open_doors.append(f"{method.upper()} {path}: {answer.status_code}")
    assert not open_doors, f"answered without a key: {open_doors}"
