"""Console: rewards and kill switches (create, edit with a version, retire, switches, roles)."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import func, select

from gateway.models.outbox import AuditEvent
from gateway.models.program import Program, Reward
from gateway.runtime import runtime
from tests.console_helpers import audits, csrf_of, post_form, signed_in_client
from tests.factories import demo_program, enroll_member
from tests.integration.conftest import new_till

LIST = "/console/rewards"
NEW = "/console/rewards/demo/new"

GOOD = {
    "code": "tote-bag",
    "name": "Tote bag",
    "cost_points": "800",
    "stock": "25",
    "per_member_daily_limit": "1",
    "min_tier": "Silver",
    "discount_percent": "",
    "budget_points": "8000",
}


def _reward(app: Flask, code: str) -> Reward | None:
    with runtime(app).sessions() as session:
        return session.scalar(select(Reward).where(Reward.code == code))


def _program(app: Flask) -> Program:
    with runtime(app).sessions() as session:
        program = session.scalar(select(Program).where(Program.slug == "demo"))
        assert program is not None
        return program


def _reward_count(app: Flask) -> int:
    with runtime(app).sessions() as session:
        return int(session.scalar(select(func.count()).select_from(Reward)) or 0)


@pytest.fixture
def marketer(app: Flask):
    demo_program(app)
    return signed_in_client(app, "marketer")


def test_a_marketer_creates_a_reward_and_sees_it_listed_with_stock_and_budget(app, marketer):
    answer = post_form(marketer, NEW, GOOD)
    assert answer.status_code == 302, answer.get_data(as_text=True)
    assert answer.headers["Location"].endswith("/console/rewards?program=demo")
    reward = _reward(app, "tote-bag")
    assert reward is not None
    assert (reward.name, reward.cost_points, reward.stock) == ("Tote bag", 800, 25)
    assert (reward.per_member_daily_limit, reward.min_tier, reward.budget_points) == (
        1,
        "Silver",
        8000,
    )
    assert reward.enabled and reward.retired_at is None and reward.version == 1
    [row] = audits(app, "reward.created")
    assert row.actor.startswith("operator:")
    assert row.details["after"]["cost_points"] == 800
    assert row.details["code"] == "tote-bag"

    page = marketer.get(LIST).get_data(as_text=True)
    assert "Tote bag was created" in page
    assert 'id="reward-tote-bag"' in page
    assert "0 of 8,000 spent" in page
    assert "Silver and above" in page
    assert "Redemptions are on" in page


def test_bad_values_are_field_errors_all_at_once_with_what_was_typed_kept(app, marketer):
    before = _reward_count(app)
    bad = {
        "code": "Tote Bag!",
        "name": "",
        "cost_points": "-5",
        "stock": "99999999999",
        "per_member_daily_limit": "0",
        "min_tier": "Platinum",
        "discount_percent": "150",
        "budget_points": "abc",
    }
    answer = post_form(marketer, NEW, bad)
    assert answer.status_code == 422
    page = answer.get_data(as_text=True)
    for field in bad:
        assert f'id="error-{field}"' in page, field
    assert 'value="Tote Bag!"' in page
    assert 'value="99999999999"' in page
    assert _reward_count(app) == before

    # A taken code and a budget below the cost.
    taken = post_form(marketer, NEW, {**GOOD, "code": "coffee", "budget_points": "100"})
    assert taken.status_code == 422
    text = taken.get_data(as_text=True)
    assert "already uses this code" in text
    assert "at least the cost" in text
    assert _reward_count(app) == before
    assert audits(app, "reward.created") == []


def test_edit_carries_the_version_and_a_stale_save_is_a_conflict(app, marketer):
    path = "/console/rewards/demo/edit/coffee"
    page = marketer.get(path).get_data(as_text=True)
    assert 'name="version" value="1"' in page
    token = csrf_of(marketer, path)
    base = {"csrf_token": token, "name": "Large coffee", "cost_points": "550", "version": "1"}
    saved = marketer.post(path, data=base)
    assert saved.status_code == 302
    reward = _reward(app, "coffee")
    assert reward is not None
    assert (reward.name, reward.cost_points, reward.version) == ("Large coffee", 550, 2)
    [row] = audits(app, "reward.edited")
    assert row.details["before"] == {"name": "Free coffee", "cost_points": 500}
    assert row.details["after"] == {"name": "Large coffee", "cost_points": 550}

    stale = marketer.post(path, data={**base, "name": "Espresso", "cost_points": "400"})
    assert stale.status_code == 409
    text = stale.get_data(as_text=True)
    assert "changed by someone else" in text
    assert 'value="Espresso"' in text  # what was typed is kept
    reward = _reward(app, "coffee")
    assert reward is not None
    assert (reward.name, reward.cost_points, reward.version) == ("Large coffee", 550, 2)
    assert len(audits(app, "reward.edited")) == 1


def test_the_reward_kill_switch_is_one_click_audited_and_refused_at_the_till(app, marketer):
    till = new_till(app)
    member = enroll_member(app, balance=5000)
    off = post_form(marketer, "/console/rewards/demo/switch/coffee", {"state": "off"}, LIST)
    assert off.status_code == 302
    reward = _reward(app, "coffee")
    assert reward is not None and reward.enabled is False
    page = marketer.get(LIST).get_data(as_text=True)
    assert 'id="switch-on-coffee"' in page
    assert "tills refuse it from their next request" in page
    [row] = audits(app, "reward.disabled")
    assert (row.details["before"], row.details["after"]) == ({"enabled": True}, {"enabled": False})

    checkout = till.checkout(member.google_scan())
    refused = till.redeem(checkout, reward_id="coffee")
    assert refused.status_code == 409
    assert refused.json["error"]["code"] == "reward_unavailable"

    # A second click on "off" (another tab) changes nothing and writes no second audit row.
    post_form(marketer, "/console/rewards/demo/switch/coffee", {"state": "off"}, LIST)
    assert len(audits(app, "reward.disabled")) == 1
    on = post_form(marketer, "/console/rewards/demo/switch/coffee", {"state": "on"}, LIST)
    assert on.status_code == 302
    assert till.redeem(checkout, reward_id="coffee").status_code == 201


def test_pause_and_resume_all_redemptions_from_the_list(app, marketer):
    path = "/console/rewards/demo/redemptions"
    page = marketer.get(LIST).get_data(as_text=True)
    assert 'id="pause-redemptions"' in page
    assert post_form(marketer, path, {"state": "paused"}, LIST).status_code == 302
    assert _program(app).redemptions_enabled is False
    page = marketer.get(LIST).get_data(as_text=True)
    assert "All redemptions are paused" in page
    assert 'id="resume-redemptions"' in page
    assert post_form(marketer, path, {"state": "on"}, LIST).status_code == 302
    assert _program(app).redemptions_enabled is True
    assert [r.details["after"] for r in audits(app, "program.redemptions_paused")] == [
        {"redemptions_enabled": False}
    ]
    assert len(audits(app, "program.redemptions_resumed")) == 1


def test_retire_keeps_the_reward_for_history_and_the_till_no_longer_offers_it(app, marketer):
    till = new_till(app)
    member = enroll_member(app, balance=5000)
    checkout = till.checkout(member.google_scan())
    path = "/console/rewards/demo/retire/pastry"
    answer = post_form(marketer, path, {}, "/console/rewards/demo/edit/pastry")
    assert answer.status_code == 302
    reward = _reward(app, "pastry")
    assert reward is not None and reward.retired_at is not None
    assert len(audits(app, "reward.retired")) == 1
    page = marketer.get(LIST).get_data(as_text=True)
    assert "Retired" in page
    assert 'id="switch-off-pastry"' not in page

    offered = till.identify(member.apple_scan()).json["rewards"]
    assert "pastry" not in [item["id"] for item in offered]
    refused = till.redeem(checkout, reward_id="pastry")
    assert refused.status_code == 409
    assert refused.json["error"]["code"] == "reward_unavailable"

    # Retiring again changes nothing; a retired reward cannot be switched back on or edited.
    assert post_form(marketer, path, {}, LIST).status_code == 302
    assert len(audits(app, "reward.retired")) == 1
    again = post_form(marketer, "/console/rewards/demo/switch/pastry", {"state": "on"}, LIST)
    assert again.status_code == 409
    reward = _reward(app, "pastry")
    assert reward is not None and reward.enabled is True and reward.retired_at is not None
    assert marketer.get("/console/rewards/demo/edit/pastry").status_code == 409
    assert till.redeem(checkout, reward_id="pastry").json["error"]["code"] == "reward_unavailable"


def test_support_may_not_open_or_change_rewards_and_is_audited(app):
    demo_program(app)
    support = signed_in_client(app, "support")
    assert support.get(LIST).status_code == 403
    token = csrf_of(support, "/console")
    answer = support.post(
        "/console/rewards/demo/switch/coffee", data={"csrf_token": token, "state": "off"}
    )
    assert answer.status_code == 403
    reward = _reward(app, "coffee")
    assert reward is not None and reward.enabled is True
    rows = audits(app, "console.forbidden")
    assert [row.subject for row in rows] == [
        "GET /console/rewards",
        "POST /console/rewards/demo/switch/coffee",
    ]
    assert "Rewards and kill switches" not in support.get("/console").get_data(as_text=True)


@pytest.mark.parametrize("token", [None, "wrong"])
def test_a_switch_posted_without_the_right_csrf_token_changes_nothing(app, marketer, token):
    data = {"state": "paused"} if token is None else {"state": "paused", "csrf_token": token}
    answer = marketer.post("/console/rewards/demo/redemptions", data=data)
    assert answer.status_code == 400
    assert _program(app).redemptions_enabled is True
    with runtime(app).sessions() as session:
        changed = session.scalar(
            select(func.count()).where(AuditEvent.action.like("program.redemptions_%"))
        )
    assert changed == 0


def test_unknown_program_or_reward_is_a_404_page(app, marketer):
    assert marketer.get("/console/rewards?program=nope").status_code == 404
    assert marketer.get("/console/rewards/demo/edit/nope").status_code == 404
    answer = post_form(marketer, "/console/rewards/nope/switch/coffee", {"state": "off"}, LIST)
    assert answer.status_code == 404


def test_the_list_with_no_program_yet_says_so(app):
    marketer = signed_in_client(app, "marketer")
    page = marketer.get(LIST)
    assert page.status_code == 200
    assert 'id="no-program"' in page.get_data(as_text=True)


def test_saving_an_edit_keeps_the_units_sold_since_the_form_was_opened(app, marketer):
    till = new_till(app)
    member = enroll_member(app, balance=5000)
    path = "/console/rewards/demo/edit/mug"
    page = marketer.get(path).get_data(as_text=True)
    assert 'name="stock_was" value="50"' in page
    token = csrf_of(marketer, path)
    checkout = till.checkout(member.google_scan())
    assert till.redeem(checkout, reward_id="mug").status_code == 201  # stock 50 -> 49
    form = {
        "csrf_token": token,
        "version": "1",
        "stock_was": "50",
        "name": "Big mug",
        "cost_points": "1500",
        "stock": "50",
    }
    assert marketer.post(path, data=form).status_code == 302
    reward = _reward(app, "mug")
    assert reward is not None and (reward.name, reward.stock) == ("Big mug", 49)
    # A stock the operator did type is set as typed.
    form.update(version="2", stock_was="49", stock="80")
    assert marketer.post(path, data=form).status_code == 302
    reward = _reward(app, "mug")
    assert reward is not None and reward.stock == 80
