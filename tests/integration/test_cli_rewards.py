"""`gateway rewards create|list|disable|enable|retire` and `gateway programs pause|resume`."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select

from gateway.models.program import Program, Reward
from gateway.runtime import runtime
from tests.console_helpers import audits
from tests.factories import demo_program


def _run(app: Flask, *args: str):
    return app.test_cli_runner().invoke(args=list(args))


def _reward(app: Flask, code: str) -> Reward | None:
    with runtime(app).sessions() as session:
        return session.scalar(select(Reward).where(Reward.code == code))


def test_create_list_switch_and_retire_a_reward(app):
    demo_program(app)
    options = "--program demo --code scarf --name Scarf --cost 2500 --stock 40 --daily-limit 1"
    options += " --min-tier Gold --discount 5 --budget 50000"
    created = _run(app, "rewards", "create", *options.split())
    assert created.exit_code == 0, created.output
    assert "reward scarf created in program demo" in created.output
    reward = _reward(app, "scarf")
    assert reward is not None
    assert (reward.cost_points, reward.stock, reward.min_tier) == (2500, 40, "Gold")
    assert (reward.per_member_daily_limit, reward.discount_percent, reward.budget_points) == (
        1,
        5,
        50000,
    )
    assert [row.actor for row in audits(app, "reward.created")] == ["cli"]

    assert _run(app, "rewards", "disable", "--program", "demo", "scarf").exit_code == 0
    listed = _run(app, "rewards", "list", "--program", "demo")
    assert listed.exit_code == 0
    line = next(row for row in listed.output.splitlines() if row.startswith("scarf\t"))
    assert "\tOFF\t" in line and "budget 0/50000 pts spent" in line
    enabled = _run(app, "rewards", "enable", "--program", "demo", "scarf")
    assert "reward scarf is on" in enabled.output
    assert _run(app, "rewards", "retire", "--program", "demo", "scarf").exit_code == 0
    reward = _reward(app, "scarf")
    assert reward is not None and reward.retired_at is not None
    lines = _run(app, "rewards", "list", "--program", "demo").output.splitlines()
    assert lines[-1].startswith("scarf\t") and "\tretired\t" in lines[-1]
    again = _run(app, "rewards", "enable", "--program", "demo", "scarf")
    assert again.exit_code == 1
    assert "was retired" in again.output


def test_bad_values_name_each_option_and_create_nothing(app):
    demo_program(app)
    options = ["--program", "demo", "--code", "Bad Code", "--name", "X", "--cost", "-1"]
    answer = _run(app, "rewards", "create", *options, "--budget", "0")
    assert answer.exit_code == 1
    for option in ("--code:", "--cost:", "--budget:"):
        assert option in answer.output
    assert _reward(app, "bad code") is None
    unknown = _run(app, "rewards", "disable", "--program", "nope", "coffee")
    assert unknown.exit_code == 1
    assert "program 'nope' not found" in unknown.output
    assert "Traceback" not in unknown.output


def test_programs_pause_and_resume(app):
    demo_program(app)
    paused = _run(app, "programs", "pause", "demo")
    assert paused.exit_code == 0, paused.output
    assert "redemptions of program demo are paused" in paused.output
    with runtime(app).sessions() as session:
        program = session.scalar(select(Program).where(Program.slug == "demo"))
        assert program is not None and program.redemptions_enabled is False
    assert "PAUSED" in _run(app, "rewards", "list", "--program", "demo").output
    resumed = _run(app, "programs", "resume", "demo")
    assert "are allowed" in resumed.output
    assert len(audits(app, "program.redemptions_paused")) == 1
    assert len(audits(app, "program.redemptions_resumed")) == 1
    assert _run(app, "programs", "pause", "nope").exit_code == 1
