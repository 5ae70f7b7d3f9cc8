"""Rewards under concurrency: saves of one reward (one wins, the rest conflict, nothing lost) and
redemptions racing for a reward's campaign budget (never over budget; given back on void and
on a released hold)."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import select, update

from gateway.domain.errors import GatewayError
from gateway.models.base import utcnow
from gateway.models.pos import Redemption
from gateway.models.program import Reward
from gateway.pos.holds import release_all_expired_holds
from gateway.runtime import runtime
from gateway.services.operate import rewards
from tests.console_helpers import audits
from tests.factories import demo_program, enroll_member
from tests.integration.conftest import assert_ledger_consistent, new_till, race


def _reward(app: Flask, code: str) -> Reward:
    with runtime(app).sessions() as session:
        reward = session.scalar(select(Reward).where(Reward.code == code))
        assert reward is not None
        return reward


def _set_reward(app: Flask, code: str, **values: object) -> None:
    with runtime(app).sessions() as session:
        session.execute(update(Reward).where(Reward.code == code).values(**values))
        session.commit()


@pytest.mark.slow
def test_eight_concurrent_saves_of_one_reward_one_wins_the_rest_conflict(app):
    demo_program(app)
    rt = runtime(app)

    def save(i: int) -> str:
        with rt.sessions() as session:
            try:
                rewards.edit_reward(
                    session, f"operator:{i}", "demo", "coffee", 1, {"name": f"Coffee {i}"}
                )
            except GatewayError as error:
                return error.code
            return f"saved {i}"

    results = race(8, save)
    outcomes = Counter("saved" if r.startswith("saved") else r for r in results)
    assert outcomes == {"saved": 1, "edit_conflict": 7}
    winner = next(r for r in results if r.startswith("saved")).split()[1]
    reward = _reward(app, "coffee")
    assert (reward.name, reward.version) == (f"Coffee {winner}", 2)
    [row] = audits(app, "reward.edited")
    assert row.actor == f"operator:{winner}"
    assert row.details["after"] == {"name": f"Coffee {winner}"}


@pytest.mark.slow
def test_redemptions_racing_for_a_reward_budget_never_overspend_it(app):
    """N members redeem at once; the budget allows k: exactly k succeed."""
    count, allowed, cost = 12, 5, 300
    till = new_till(app)
    _set_reward(app, "pastry", budget_points=cost * allowed + cost - 1, spent_points=0)
    members = [enroll_member(app, balance=1000) for _ in range(count)]
    checkouts = [till.checkout(member.google_scan()) for member in members]
    clients = [app.test_client() for _ in range(count)]

    def redeem(i: int) -> tuple[int, str]:
        answer = clients[i].post(
            "/pos/v1/redemptions",
            json={"checkout": checkouts[i], "reward_id": "pastry"},
            headers=till.headers(f"budget-{i}"),
        )
        return answer.status_code, answer.json.get("error", {}).get("code", "")

    results = race(count, redeem)
    assert Counter(results) == {(201, ""): allowed, (409, "limit_reached"): count - allowed}
    assert _reward(app, "pastry").spent_points == allowed * cost
    assert_ledger_consistent(app)
    # The till no longer offers it: what is left (cost - 1) cannot pay one more.
    offered = till.identify(members[0].apple_scan()).json["rewards"]
    assert {item["id"]: item["available"] for item in offered}["pastry"] is False


def test_a_void_and_a_released_hold_give_the_reward_budget_back(app):
    till = new_till(app)
    _set_reward(app, "coffee", budget_points=1000, spent_points=0)
    member = enroll_member(app, balance=5000)
    checkout = till.checkout(member.google_scan())
    first = till.redeem(checkout, reward_id="coffee")
    held = till.redeem(checkout, reward_id="coffee", capture=False)
    assert (first.status_code, held.status_code) == (201, 201)
    assert _reward(app, "coffee").spent_points == 1000
    over = till.redeem(checkout, reward_id="coffee")
    assert over.status_code == 409
    assert over.json["error"]["code"] == "limit_reached"
    assert "campaign budget" in over.json["error"]["message"]

    voided = till.post(f"/redemptions/{first.json['redemption']['id']}/void")
    assert voided.status_code == 200, voided.json
    assert _reward(app, "coffee").spent_points == 500

    # The hold outlives its TTL: releasing it gives its share back too.
    with runtime(app).sessions() as session:
        session.execute(
            update(Redemption)
            .where(Redemption.status == "held")
            .values(hold_expires_at=utcnow() - timedelta(seconds=1))
        )
        session.commit()
        assert release_all_expired_holds(session, utcnow()) == 1
    assert _reward(app, "coffee").spent_points == 0
    assert till.redeem(checkout, reward_id="coffee").status_code == 201
    assert _reward(app, "coffee").spent_points == 500
    assert_ledger_consistent(app)


def test_a_reward_without_a_budget_spends_nothing_from_it(app):
    till = new_till(app)
    member = enroll_member(app, balance=5000)
    checkout = till.checkout(member.google_scan())
    assert till.redeem(checkout, reward_id="coffee").status_code == 201
    assert _reward(app, "coffee").spent_points == 0
