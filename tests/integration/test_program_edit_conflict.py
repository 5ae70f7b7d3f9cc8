"""Two operators saving one program at once: exactly one save wins, the other gets 409
`edit_conflict`, and nothing of the losing save is written (no lost update). Run it on
PostgreSQL (GATEWAY_TEST_DATABASE_URL) for real row-lock contention; it holds on SQLite too."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import func, select

from gateway.domain.errors import GatewayError
from gateway.models.outbox import AuditEvent
from gateway.models.program import Program
from gateway.runtime import runtime
from gateway.services.issue.programs import wallet_ids
from gateway.services.operate.field_errors import FieldErrors
from gateway.services.operate.programs import create_program, edit_program, program_fields
from tests.factories import demo_program
from tests.integration.conftest import race

ROUNDS = 5


def _save(app: Flask, actor: str, data: dict[str, Any], version: int) -> Any:
    with runtime(app).sessions() as session:
        return edit_program(session, actor, "demo", data, version)


def _program(app: Flask) -> Program:
    with runtime(app).sessions() as session:
        program = session.scalar(select(Program).where(Program.slug == "demo"))
        assert program is not None
        _ = list(program.tiers)
        session.expunge_all()
        return program


def test_two_concurrent_saves_of_one_program_one_conflict_no_lost_update(app: Flask):
    demo_program(app)
    for round_ in range(ROUNDS):
        before = _program(app)
        version = before.version
        changes = [
            {"name": f"Name A{round_}", "points_label": f"Stars {round_}"},
            {"name": f"Name B{round_}", "point_value": f"0.0{round_ + 1}"},
        ]
        results = race(2, lambda i, c=changes, v=version: _save(app, f"operator:{i + 1}", c[i], v))

        conflicts = [r for r in results if isinstance(r, GatewayError)]
        saved = [r for r in results if not isinstance(r, Exception)]
        assert len(saved) == 1 and len(conflicts) == 1, results
        assert conflicts[0].code == "edit_conflict" and conflicts[0].status == 409
        winner = results.index(saved[0])
        program = _program(app)
        assert program.version == version + 1
        assert program.name == changes[winner]["name"]
        # The loser's other field was not written either.
        if winner == 0:
            assert program.points_label == f"Stars {round_}"
            assert program.point_value == before.point_value
        else:
            assert str(program.point_value.normalize()) == f"0.0{round_ + 1}"
            assert program.points_label == before.points_label
    with runtime(app).sessions() as session:
        edits = session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "program.edited")
        )
    assert edits == ROUNDS


def test_concurrent_tier_renames_never_fail_with_a_500(app: Flask):
    demo_program(app)
    tiers = [
        {"name": "Bronze", "threshold": 0},
        {"name": "Silver", "threshold": 1000, "earn_multiplier": "1.25", "discount_percent": 5},
        {"name": "Gold", "threshold": 5000, "earn_multiplier": "1.5", "discount_percent": 10},
    ]
    ids = {tier["name"]: tier["id"] for tier in _tiers(app)}
    swapped = [
        {**tiers[0], "id": ids["Bronze"]},
        {**tiers[1], "id": ids["Silver"], "name": "Gold"},
        {**tiers[2], "id": ids["Gold"], "name": "Silver"},
    ]
    renamed = [
        {**tiers[0], "id": ids["Bronze"], "name": "Copper"},
        {**tiers[1], "id": ids["Silver"]},
        {**tiers[2], "id": ids["Gold"]},
    ]
    results = race(2, lambda i: _save(app, "t", {"tiers": [swapped, renamed][i]}, 1))
    assert sorted(type(r).__name__ for r in results) == ["GatewayError", "ProgramSaved"], results
    names = sorted(tier["name"] for tier in _tiers(app))
    assert names in (["Bronze", "Gold", "Silver"], ["Copper", "Gold", "Silver"])


def test_two_creates_of_one_slug_one_program_one_field_error(app: Flask):
    data = {"slug": "twins", "name": "Twins", "organization": "T", "currency": "EUR"}

    def create(index: int) -> Any:
        rt = runtime(app)
        with rt.sessions() as session:
            return create_program(session, wallet_ids(rt), f"operator:{index}", data)

    results = race(2, create)
    errors = [r for r in results if isinstance(r, FieldErrors)]
    assert len(errors) == 1 and "slug" in errors[0].fields, results
    with runtime(app).sessions() as session:
        assert (
            session.scalar(select(func.count()).select_from(Program).where(Program.slug == "twins"))
            == 1
        )


def _tiers(app: Flask) -> list[dict[str, Any]]:
    tiers: list[dict[str, Any]] = program_fields(_program(app))["tiers"]
    return tiers
