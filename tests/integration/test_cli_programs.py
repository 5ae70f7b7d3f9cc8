"""`gateway programs create|edit|show`: JSON files in, the same service as console and API."""

from __future__ import annotations

import json
from pathlib import Path

from flask import Flask
from sqlalchemy import select

from gateway.models.outbox import AuditEvent
from gateway.models.program import Program
from gateway.runtime import runtime
from tests.factories import demo_program, enroll_member

PROGRAM = {
    "slug": "bakery",
    "name": "Bakery Rewards",
    "organization": "Crumb Ltd",
    "currency": "GBP",
    "points_per_currency_unit": "5",
    "background_color": "#aa3300",
    "tiers": [
        {"name": "Roll", "threshold": 0},
        {"name": "Loaf", "threshold": 1500, "earn_multiplier": "1.1", "discount_percent": "2.5"},
    ],
}


def run(app: Flask, *args: str) -> tuple[int, str]:
    result = app.test_cli_runner().invoke(args=["programs", *args])
    return result.exit_code, result.output


def write(tmp_path: Path, data: object, name: str = "program.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return str(path)


def stored(app: Flask, slug: str) -> Program:
    with runtime(app).sessions() as session:
        program = session.scalar(select(Program).where(Program.slug == slug))
        assert program is not None
        _ = list(program.tiers)
        session.expunge_all()
        return program


def test_create_show_and_edit_round_trip(app: Flask, tmp_path: Path):
    code, output = run(app, "create", "--file", write(tmp_path, PROGRAM))
    assert code == 0, output
    assert "program bakery created (version 1)" in output

    code, output = run(app, "show", "bakery")
    assert code == 0, output
    shown = json.loads(output)
    assert shown["currency"] == "GBP" and shown["points_per_currency_unit"] == "5"
    assert [t["name"] for t in shown["tiers"]] == ["Roll", "Loaf"]

    # The printed JSON is accepted back as it is: nothing changes.
    code, output = run(app, "edit", "bakery", "--file", write(tmp_path, shown, "same.json"))
    assert code == 0 and "nothing changed" in output

    # A partial file edits only its keys.
    code, output = run(
        app, "edit", "bakery", "--file", write(tmp_path, {"point_value": "0.002"}, "p.json")
    )
    assert code == 0, output
    assert "saved (version 2): point_value" in output
    program = stored(app, "bakery")
    assert str(program.point_value.normalize()) == "0.002"
    assert program.name == "Bakery Rewards" and len(program.tiers) == 2

    code, output = run(
        app, "edit", "bakery", "--file", write(tmp_path, {"name": "Bakery Club"}, "n.json")
    )
    assert code == 0 and "issued passes are being updated" in output
    with runtime(app).sessions() as session:
        actors = session.scalars(
            select(AuditEvent.actor).where(AuditEvent.subject == "program:bakery")
        ).all()
    assert actors == ["cli", "cli", "cli"]


def test_errors_print_every_field_and_exit_non_zero(app: Flask, tmp_path: Path):
    bad = {**PROGRAM, "currency": "EU", "points_per_currency_unit": "-2", "label_color": "blue"}
    code, output = run(app, "create", "--file", write(tmp_path, bad))
    assert code != 0
    for field in ("currency:", "points_per_currency_unit:", "label_color:"):
        assert field in output
    code, output = run(app, "create", "--file", write(tmp_path, ["a list"]))
    assert code != 0 and "JSON object" in output
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    code, output = run(app, "create", "--file", str(broken))
    assert code != 0 and "not valid JSON" in output
    code, output = run(app, "create", "--file", str(tmp_path / "missing.json"))
    assert code != 0
    with runtime(app).sessions() as session:
        assert session.scalars(select(Program)).all() == []

    code, output = run(app, "show", "nope")
    assert code != 0 and "not found" in output
    code, output = run(app, "edit", "nope", "--file", write(tmp_path, {"name": "x"}, "x.json"))
    assert code != 0 and "not found" in output


def test_edit_with_a_stale_version_in_the_file_is_a_conflict(app: Flask, tmp_path: Path):
    demo_program(app)
    assert run(app, "edit", "demo", "--file", write(tmp_path, {"points_label": "Stars"}))[0] == 0
    stale = write(tmp_path, {"version": 1, "points_label": "Moons"}, "stale.json")
    code, output = run(app, "edit", "demo", "--file", stale)
    assert code != 0 and "changed by someone else" in output
    assert stored(app, "demo").points_label == "Stars"


def test_code_settings_of_a_program_with_passes_are_refused(app: Flask, tmp_path: Path):
    demo_program(app)
    enroll_member(app)
    code, output = run(app, "edit", "demo", "--file", write(tmp_path, {"totp_digits": 6}))
    assert code != 0 and "totp_digits:" in output
    assert stored(app, "demo").totp_digits == 8
