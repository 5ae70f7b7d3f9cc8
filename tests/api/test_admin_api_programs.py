"""Admin API programs: scopes, create/read/list/edit with a version, every bad field at once,
conflicts, and the OpenAPI description of each operation."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openapi_spec_validator import validate
from sqlalchemy import func, select

from gateway.models.outbox import AuditEvent
from gateway.models.program import Program
from gateway.runtime import runtime
from gateway.services.operate.api_keys import create_api_key
from tests.factories import demo_program, enroll_member

BODY: dict[str, Any] = {
    "slug": "tea-house",
    "name": "Tea House",
    "organization": "Leaf Ltd",
    "currency": "JPY",
    "points_per_currency_unit": "0.01",
    "point_value": 1,
    "tiers": [
        {"name": "Leaf", "threshold": 0},
        {"name": "Pot", "threshold": 2000, "earn_multiplier": "1.2", "discount_percent": 3},
    ],
}


class Api:
    """A client holding one admin API key."""

    def __init__(self, app: Flask, scope: str) -> None:
        with runtime(app).sessions() as session:
            created = create_api_key(session, "test", f"{scope} key", scope)
            self.key_id = created.key.id
            self.secret = created.secret
        self.client: FlaskClient = app.test_client()

    def call(self, method: str, path: str, body: Any = None) -> Any:
        headers = {"Authorization": f"Bearer {self.secret}"}
        return self.client.open(f"/admin/v1{path}", method=method, json=body, headers=headers)


def count_programs(app: Flask) -> int:
    with runtime(app).sessions() as session:
        return session.scalar(select(func.count()).select_from(Program)) or 0


def test_create_read_list_and_edit(app: Flask):
    api = Api(app, "marketer")
    created = api.call("POST", "/programs", BODY)
    assert created.status_code == 201, created.json
    program = created.json["program"]
    assert program["currency"] == "JPY" and program["points_per_currency_unit"] == "0.01"
    assert program["point_value"] == "1" and program["version"] == 1
    assert [(t["name"], t["threshold"], t["earn_multiplier"]) for t in program["tiers"]] == [
        ("Leaf", 0, "1"),
        ("Pot", 2000, "1.2"),
    ]
    assert program["points_label"] == "Points"  # defaults for what was not sent
    assert program["google_class_id"].endswith(".tea-house-loyalty")

    read = api.call("GET", "/programs/tea-house")
    assert read.status_code == 200 and read.json["program"] == program
    listed = api.call("GET", "/programs?limit=1")
    assert listed.status_code == 200
    assert (listed.json["total"], len(listed.json["items"])) == (1, 1)

    edited = api.call(
        "PATCH", "/programs/tea-house", {"version": 1, "name": "Tea House Tokyo", "point_value": 2}
    )
    assert edited.status_code == 200, edited.json
    assert edited.json["program"]["name"] == "Tea House Tokyo"
    assert edited.json["program"]["version"] == 2
    assert sorted(edited.json["changed"]) == ["name", "point_value"]
    assert isinstance(edited.json["refresh_id"], int)  # the name shows on passes

    with runtime(app).sessions() as session:
        rows = session.scalars(
            select(AuditEvent).where(AuditEvent.action.in_(["program.created", "program.edited"]))
        ).all()
    assert [row.actor for row in rows] == [f"apikey:{api.key_id}"] * 2
    assert rows[1].details["before"] == {"name": "Tea House", "point_value": "1"}


def test_a_stale_version_is_409_and_changes_nothing(app: Flask):
    demo_program(app)
    api = Api(app, "admin")
    first = api.call("PATCH", "/programs/demo", {"version": 1, "points_label": "Stars"})
    assert first.status_code == 200
    stale = api.call("PATCH", "/programs/demo", {"version": 1, "points_label": "Moons"})
    assert stale.status_code == 409
    assert stale.json["error"]["code"] == "edit_conflict"
    assert api.call("GET", "/programs/demo").json["program"]["points_label"] == "Stars"


@pytest.mark.parametrize(
    ("change", "fields"),
    [
        ({"points_per_currency_unit": -1}, {"points_per_currency_unit"}),
        ({"points_per_currency_unit": "1e12"}, {"points_per_currency_unit"}),
        ({"point_value": "NaN"}, {"point_value"}),
        ({"currency": "EURO"}, {"currency"}),
        ({"currency": "XXX"}, {"currency"}),
        ({"background_color": "#12345"}, {"background_color"}),
        (
            {"label_color": "rgb(1,2,3)", "foreground_color": "#GGGGGG"},
            {"label_color", "foreground_color"},
        ),
        ({"terms_url": "javascript:alert(1)"}, {"terms_url"}),
        ({"points_validity_days": 100_000}, {"points_validity_days"}),
        ({"totp_period_seconds": 1}, {"totp_period_seconds"}),
        (
            {
                "tiers": [
                    {"name": "A", "threshold": -5},
                    {"name": "B", "threshold": 10, "earn_multiplier": 0},
                ]
            },
            {"tiers[0].threshold", "tiers[1].earn_multiplier"},
        ),
        ({"tiers": [{"name": "A", "threshold": 100}]}, {"tiers"}),
        (
            {"tiers": [{"name": "A", "threshold": 0, "discount_percent": 101}]},
            {"tiers[0].discount_percent"},
        ),
        (
            {"tiers": [{"name": "A", "threshold": 0, "earn_multiplier": 11}]},
            {"tiers[0].earn_multiplier"},
        ),
        ({"tiers": []}, {"tiers"}),
        ({"colour": "#ffffff"}, {"colour"}),
        ({"name": 5}, {"name"}),
    ],
)
def test_bad_fields_are_all_reported_and_nothing_is_stored(app: Flask, change, fields):
    api = Api(app, "marketer")
    answer = api.call("POST", "/programs", {**BODY, **change})
    assert answer.status_code == 422, answer.json
    assert answer.json["error"]["code"] == "validation_error"
    assert set(answer.json["error"]["fields"]) == fields
    assert count_programs(app) == 0


def test_required_fields_and_body_shape(app: Flask):
    api = Api(app, "marketer")
    answer = api.call("POST", "/programs", {"name": "", "tiers": "gold"})
    assert answer.status_code == 422
    assert {"slug", "name", "organization", "currency", "tiers"} <= set(
        answer.json["error"]["fields"]
    )
    assert api.call("POST", "/programs", ["not", "an", "object"]).status_code == 400
    assert count_programs(app) == 0
    demo_program(app)
    taken = api.call("POST", "/programs", {**BODY, "slug": "demo"})
    assert taken.status_code == 422 and "slug" in taken.json["error"]["fields"]
    no_version = api.call("PATCH", "/programs/demo", {"name": "", "version": "1"})
    assert no_version.status_code == 422
    assert set(no_version.json["error"]["fields"]) == {"version", "name"}
    renamed = api.call("PATCH", "/programs/demo", {"version": 1, "slug": "other"})
    assert renamed.status_code == 422 and "slug" in renamed.json["error"]["fields"]
    assert api.call("GET", "/programs/nope").status_code == 404
    assert api.call("PATCH", "/programs/nope", {"version": 1}).status_code == 404


def test_code_settings_are_fixed_once_passes_are_issued(app: Flask):
    demo_program(app)
    api = Api(app, "admin")
    enroll_member(app)
    answer = api.call("PATCH", "/programs/demo", {"version": 1, "totp_digits": 6})
    assert answer.status_code == 422
    assert "codes the tills refuse" in answer.json["error"]["fields"]["totp_digits"]
    same = api.call("PATCH", "/programs/demo", {"version": 1, "totp_digits": 8})
    assert same.status_code == 200 and same.json["changed"] == []


def test_scopes_support_key_is_403_and_audited_no_key_is_401(app: Flask):
    demo_program(app)
    support = Api(app, "support")
    for method, path, body in (
        ("GET", "/programs", None),
        ("POST", "/programs", BODY),
        ("GET", "/programs/demo", None),
        ("PATCH", "/programs/demo", {"version": 1, "name": "Hijacked"}),
    ):
        answer = support.call(method, path, body)
        assert answer.status_code == 403, (method, path)
        assert answer.json["error"]["code"] == "forbidden"
    assert app.test_client().get("/admin/v1/programs").status_code == 401
    assert count_programs(app) == 1
    with runtime(app).sessions() as session:
        refused = session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "admin_api.forbidden")
        )
    assert refused == 4


def test_the_operations_are_in_the_openapi_document(app: Flask):
    document = app.test_client().get("/admin/v1/openapi.json").json
    validate(document)
    assert set(document["paths"]["/programs"]) == {"get", "post"}
    assert set(document["paths"]["/programs/{slug}"]) >= {"get", "patch"}
    patch = document["paths"]["/programs/{slug}"]["patch"]
    assert {"200", "401", "403", "404", "409", "422"} <= set(patch["responses"])
    schemas = document["components"]["schemas"]
    assert schemas["ProgramChange"]["required"] == ["version"]
    assert "EUR" in schemas["ProgramInput"]["properties"]["currency"]["enum"]
