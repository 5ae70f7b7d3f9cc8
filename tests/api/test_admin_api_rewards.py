"""Admin API /admin/v1: rewards, the reward kill switch and the program's pause switch."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import select

from gateway.models.program import Program, Reward
from gateway.runtime import runtime
from gateway.services.operate.api_keys import create_api_key
from tests.console_helpers import audits
from tests.factories import demo_program, enroll_member
from tests.integration.conftest import new_till

BASE = "/admin/v1/programs/demo"


def _key(app: Flask, scope: str) -> dict[str, str]:
    with runtime(app).sessions() as session:
        created = create_api_key(session, "test", f"{scope} key", scope)
    return {"Authorization": f"Bearer {created.secret}"}


@pytest.fixture
def marketer(app: Flask) -> dict[str, str]:
    demo_program(app)
    return _key(app, "marketer")


def _reward(app: Flask, code: str) -> Reward:
    with runtime(app).sessions() as session:
        reward = session.scalar(select(Reward).where(Reward.code == code))
        assert reward is not None
        return reward


def test_create_list_and_get_a_reward(app, client, marketer):
    body = {
        "code": "mug-2",
        "name": "Travel mug",
        "cost_points": 1200,
        "stock": 10,
        "per_member_daily_limit": 1,
        "min_tier": "Gold",
        "discount_percent": 12.5,
        "budget_points": 6000,
    }
    created = client.post(f"{BASE}/rewards", json=body, headers=marketer)
    assert created.status_code == 201, created.json
    reward = created.json["reward"]
    assert reward["code"] == "mug-2"
    assert reward["discount_percent"] == 12.5
    assert (reward["budget_points"], reward["spent_points"], reward["budget_left_points"]) == (
        6000,
        0,
        6000,
    )
    assert (reward["enabled"], reward["retired"], reward["version"]) == (True, False, 1)
    [row] = audits(app, "reward.created")
    assert row.actor.startswith("apikey:")

    listed = client.get(f"{BASE}/rewards", headers=marketer)
    assert listed.status_code == 200
    assert listed.json["redemptions_enabled"] is True
    codes = [item["code"] for item in listed.json["items"]]
    assert codes == ["pastry", "coffee", "mug-2", "mug"]  # by cost: 300, 500, 1200, 1500
    one = client.get(f"{BASE}/rewards/mug-2", headers=marketer)
    assert one.json["reward"] == reward
    assert client.get(f"{BASE}/rewards/nope", headers=marketer).status_code == 404
    assert client.get("/admin/v1/programs/nope/rewards", headers=marketer).status_code == 404


def test_bad_bodies_are_coded_errors_and_store_nothing(app, client, marketer):
    bad = {
        "code": "",
        "name": "x" * 121,
        "cost_points": 0,
        "stock": -1,
        "per_member_daily_limit": 1.5,
        "min_tier": "Diamond",
        "discount_percent": "lots",
        "budget_points": 10**15,
        "colour": "red",
    }
    answer = client.post(f"{BASE}/rewards", json=bad, headers=marketer)
    assert answer.status_code == 422
    assert answer.json["error"]["code"] == "validation_error"
    assert set(answer.json["error"]["fields"]) == {"colour"}  # unknown fields first
    del bad["colour"]
    answer = client.post(f"{BASE}/rewards", json=bad, headers=marketer)
    assert answer.status_code == 422
    assert set(answer.json["error"]["fields"]) == set(bad)
    not_json = client.post(f"{BASE}/rewards", data="[1]", headers=marketer)
    assert not_json.status_code == 400
    assert not_json.json["error"]["code"] == "invalid_json"
    listed = client.get(f"{BASE}/rewards", headers=marketer).json["items"]
    assert len(listed) == 3
    assert audits(app, "reward.created") == []


def test_patch_needs_the_version_and_a_stale_one_is_a_conflict(app, client, marketer):
    path = f"{BASE}/rewards/coffee"
    missing = client.patch(path, json={"cost_points": 450}, headers=marketer)
    assert missing.status_code == 422
    assert "version" in missing.json["error"]["fields"]
    saved = client.patch(path, json={"version": 1, "cost_points": 450}, headers=marketer)
    assert saved.status_code == 200, saved.json
    assert (saved.json["reward"]["cost_points"], saved.json["reward"]["version"]) == (450, 2)
    assert saved.json["reward"]["name"] == "Free coffee"  # fields not sent keep their value
    stale = client.patch(path, json={"version": 1, "name": "Latte"}, headers=marketer)
    assert stale.status_code == 409
    assert stale.json["error"]["code"] == "edit_conflict"
    assert _reward(app, "coffee").name == "Free coffee"
    renamed = client.patch(path, json={"version": 2, "code": "tea"}, headers=marketer)
    assert renamed.status_code == 422
    assert "code" in renamed.json["error"]["fields"]
    assert _reward(app, "coffee").version == 2


def test_switches_and_retire_through_the_api_reach_the_till(app, client, marketer):
    till = new_till(app)
    member = enroll_member(app, balance=5000)
    checkout = till.checkout(member.google_scan())

    off = client.post(f"{BASE}/rewards/coffee/disable", headers=marketer)
    assert off.status_code == 200 and off.json["reward"]["enabled"] is False
    assert till.redeem(checkout, reward_id="coffee").json["error"]["code"] == "reward_unavailable"
    on = client.post(f"{BASE}/rewards/coffee/enable", headers=marketer)
    assert on.json["reward"]["enabled"] is True

    paused = client.post(f"{BASE}/pause", headers=marketer)
    assert paused.json == {"program": "demo", "redemptions_enabled": False}
    refused = till.redeem(checkout, points=10)
    assert refused.json["error"]["code"] == "reward_unavailable"
    assert client.post(f"{BASE}/pause", headers=marketer).status_code == 200  # idempotent
    assert len(audits(app, "program.redemptions_paused")) == 1
    assert client.post(f"{BASE}/resume", headers=marketer).json["redemptions_enabled"] is True
    assert till.redeem(checkout, reward_id="coffee").status_code == 201

    retired = client.post(f"{BASE}/rewards/mug/retire", headers=marketer)
    assert retired.json["reward"]["retired"] is True
    again = client.post(f"{BASE}/rewards/mug/enable", headers=marketer)
    assert again.status_code == 409
    assert again.json["error"]["code"] == "reward_retired"
    edit = client.patch(f"{BASE}/rewards/mug", json={"version": 2, "name": "X"}, headers=marketer)
    assert edit.status_code == 409
    assert edit.json["error"]["code"] == "reward_retired"
    assert till.redeem(checkout, reward_id="mug").json["error"]["code"] == "reward_unavailable"
    with runtime(app).sessions() as session:
        program = session.scalar(select(Program).where(Program.slug == "demo"))
        assert program is not None and program.redemptions_enabled is True


def test_a_support_key_is_refused_and_audited_and_no_key_is_401(app, client):
    demo_program(app)
    support = _key(app, "support")
    answer = client.post(f"{BASE}/pause", headers=support)
    assert answer.status_code == 403
    assert answer.json["error"]["code"] == "forbidden"
    assert len(audits(app, "admin_api.forbidden")) == 1
    assert client.get(f"{BASE}/rewards").status_code == 401
    with runtime(app).sessions() as session:
        program = session.scalar(select(Program).where(Program.slug == "demo"))
        assert program is not None and program.redemptions_enabled is True
    admin = _key(app, "admin")
    assert client.get(f"{BASE}/rewards", headers=admin).status_code == 200


def test_the_openapi_document_describes_every_rewards_operation(client):
    paths = client.get("/admin/v1/openapi.json").json["paths"]
    expected = {
        "/programs/{slug}/rewards": {"get", "post"},
        "/programs/{slug}/rewards/{code}": {"get", "patch"},
        "/programs/{slug}/rewards/{code}/retire": {"post"},
        "/programs/{slug}/rewards/{code}/disable": {"post"},
        "/programs/{slug}/rewards/{code}/enable": {"post"},
        "/programs/{slug}/pause": {"post"},
        "/programs/{slug}/resume": {"post"},
    }
    for path, methods in expected.items():
        assert methods <= set(paths[path]), path
    patch = paths["/programs/{slug}/rewards/{code}"]["patch"]
    assert {"200", "401", "403", "404", "409", "422"} <= set(patch["responses"])
