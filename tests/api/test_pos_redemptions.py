"""POST /pos/v1/redemptions, /capture and /void: limits, kill switches, holds."""

from decimal import Decimal

from sqlalchemy import func, select, update

from gateway.models.outbox import AuditEvent, OutboxEvent
from gateway.models.program import Program, Reward
from gateway.runtime import runtime
from tests.factories import enroll_member
from tests.integration.conftest import account_state, assert_ledger_consistent, new_till


def _set_reward(app, code, **values):
    with runtime(app).sessions() as session:
        session.execute(update(Reward).where(Reward.code == code).values(**values))
        session.commit()


def _set_program(app, **values):
    with runtime(app).sessions() as session:
        session.execute(update(Program).where(Program.slug == "demo").values(**values))
        session.commit()


def _events(app, kind="balance.changed"):
    with runtime(app).sessions() as session:
        return [e.payload for e in session.scalars(
            select(OutboxEvent).where(OutboxEvent.kind == kind).order_by(OutboxEvent.id)
        )]


def test_reward_redemption_spends_points_with_one_event_and_one_audit_row(app, till):
    member = enroll_member(app, balance=2000)
    checkout = till.checkout(member.google_scan())
    response = till.redeem(checkout, reward_id="coffee")
    assert response.status_code == 201, response.json
    redemption = response.json["redemption"]
    assert redemption["id"].startswith("rdm_")
    assert redemption["status"] == "captured"
    assert redemption["points"] == 500
    assert redemption["reward"] == {"id": "coffee", "name": "Free coffee"}
    assert response.json["balance"] == {"points": 1500, "held": 0}
    events = _events(app)
    assert len(events) == 1
    assert events[0]["card_number"] == member.card_number
    assert (events[0]["balance"], events[0]["held"], events[0]["reason"]) == (1500, 0, "redemption")
    assert {"program", "crm_member_id", "tier"} <= set(events[0])
    with runtime(app).sessions() as session:
        audits = session.scalar(
            select(func.count()).where(AuditEvent.action.like("points.%"))
        )
    assert audits == 1
    assert_ledger_consistent(app)


def test_points_redemption_and_insufficient_points(app, till):
    member = enroll_member(app, balance=400)
    checkout = till.checkout(member.google_scan())
    assert till.redeem(checkout, points=300).json["balance"] == {"points": 100, "held": 0}
    response = till.redeem(checkout, points=101)
    assert response.status_code == 409
    assert response.json["error"]["code"] == "insufficient_points"
    assert till.redeem(checkout, reward_id="pastry").json["error"]["code"] == "insufficient_points"
    assert account_state(app, member.account_id) == (100, 0)
    assert_ledger_consistent(app)


def test_redemption_needs_a_live_checkout_of_this_terminal(make_app):
    app = make_app(CHECKOUT_TTL_SECONDS=0)
    till = new_till(app)
    member = enroll_member(app, balance=1000)
    expired = till.checkout(member.google_scan())
    response = till.redeem(expired, reward_id="coffee")
    assert response.status_code == 401
    assert response.json["error"]["code"] == "checkout_expired"
    assert till.redeem("co_unknown", points=1).json["error"]["code"] == "checkout_expired"


def test_checkout_of_another_terminal_is_not_accepted(app, till):
    member = enroll_member(app, balance=1000)
    checkout = till.checkout(member.google_scan())
    other = new_till(app, "S2")
    assert other.redeem(checkout, points=1).json["error"]["code"] == "checkout_expired"


def test_reward_disabled_a_moment_ago_is_unavailable(app, make_app, till):
    member = enroll_member(app, balance=2000)
    checkout = till.checkout(member.google_scan())
    other_worker = make_app()
    _set_reward(other_worker, "coffee", enabled=False)
    response = till.redeem(checkout, reward_id="coffee")
    assert response.status_code == 409
    assert response.json["error"]["code"] == "reward_unavailable"
    _set_reward(other_worker, "coffee", enabled=True)
    assert till.redeem(checkout, reward_id="coffee").status_code == 201


def test_program_kill_switch_stops_every_redemption(app, till):
    member = enroll_member(app, balance=2000)
    checkout = till.checkout(member.google_scan())
    _set_program(app, redemptions_enabled=False)
    assert till.redeem(checkout, points=10).json["error"]["code"] == "reward_unavailable"
    assert till.redeem(checkout, reward_id="pastry").json["error"]["code"] == "reward_unavailable"
    assert account_state(app, member.account_id) == (2000, 0)


def test_stock_runs_out_and_void_gives_it_back(app, till):
    member = enroll_member(app, balance=5000)
    _set_reward(app, "mug", stock=1)
    checkout = till.checkout(member.google_scan())
    first = till.redeem(checkout, reward_id="mug")
    assert first.status_code == 201
    response = till.redeem(checkout, reward_id="mug")
    assert response.status_code == 409
    assert response.json["error"]["code"] == "reward_unavailable"
    assert "out of stock" in response.json["error"]["message"]
    rid = first.json["redemption"]["id"]
    assert till.post(f"/redemptions/{rid}/void").status_code == 200
    assert till.redeem(checkout, reward_id="mug").status_code == 201


def test_min_tier(app, till):
    _set_reward(app, "mug", min_tier="Gold")
    bronze = enroll_member(app, balance=5000, tier="Bronze")
    gold = enroll_member(app, balance=5000, tier="Gold")
    response = till.redeem(till.checkout(bronze.google_scan()), reward_id="mug")
    assert response.json["error"]["code"] == "reward_unavailable"
    assert till.redeem(till.checkout(gold.google_scan()), reward_id="mug").status_code == 201


def test_daily_limits_per_member_and_per_reward(app, till):
    _set_reward(app, "pastry", per_member_daily_limit=1)
    _set_program(app, daily_redemption_limit=2)
    member = enroll_member(app, balance=5000)
    checkout = till.checkout(member.google_scan())
    assert till.redeem(checkout, reward_id="pastry").status_code == 201
    response = till.redeem(checkout, reward_id="pastry")
    assert response.status_code == 409
    assert response.json["error"]["code"] == "limit_reached"
    assert till.redeem(checkout, points=10).status_code == 201
    assert till.redeem(checkout, points=10).json["error"]["code"] == "limit_reached"
    assert account_state(app, member.account_id) == (5000 - 310, 0)
    assert_ledger_consistent(app)


def test_campaign_budget(app, till):
    _set_program(app, campaign_budget_points=600)
    member = enroll_member(app, balance=5000)
    checkout = till.checkout(member.google_scan())
    assert till.redeem(checkout, reward_id="coffee").status_code == 201
    response = till.redeem(checkout, reward_id="pastry")
    assert response.json["error"]["code"] == "limit_reached"
    assert till.redeem(checkout, points=100).status_code == 201
    with runtime(app).sessions() as session:
        assert session.scalar(select(Program.campaign_spent_points)) == 600


def test_reward_discount_is_returned(app, till):
    _set_reward(app, "pastry", discount_percent=Decimal("12.5"))
    member = enroll_member(app, balance=500)
    response = till.redeem(till.checkout(member.google_scan()), reward_id="pastry")
    assert response.json["redemption"]["discount"] == {"percent": 12.5}


def test_unknown_reward_and_unknown_redemption(app, till):
    member = enroll_member(app, balance=500)
    checkout = till.checkout(member.google_scan())
    assert till.redeem(checkout, reward_id="caviar").json["error"]["code"] == "not_found"
    assert till.post("/redemptions/rdm_nope/capture").status_code == 404
    assert till.post("/redemptions/rdm_nope/void").json["error"]["code"] == "not_found"


def test_hold_then_capture(app, till):
    member = enroll_member(app, balance=1000)
    checkout = till.checkout(member.google_scan())
    held = till.redeem(checkout, reward_id="coffee", capture=False)
    assert held.status_code == 201
    assert held.json["redemption"]["status"] == "held"
    assert held.json["balance"] == {"points": 1000, "held": 500}
    # held points cannot be spent twice
    assert till.redeem(checkout, points=501).json["error"]["code"] == "insufficient_points"
    rid = held.json["redemption"]["id"]
    captured = till.post(f"/redemptions/{rid}/capture")
    assert captured.status_code == 200
    assert captured.json["redemption"]["status"] == "captured"
    assert captured.json["balance"] == {"points": 500, "held": 0}
    again = till.post(f"/redemptions/{rid}/capture")
    assert again.status_code == 200
    assert again.json["balance"] == {"points": 500, "held": 0}
    assert [e["reason"] for e in _events(app)] == ["hold", "capture"]
    assert_ledger_consistent(app)


def test_void_returns_points_exactly_once(app, till):
    member = enroll_member(app, balance=1000)
    checkout = till.checkout(member.google_scan())
    captured = till.redeem(checkout, reward_id="coffee").json["redemption"]["id"]
    held = till.redeem(checkout, reward_id="pastry", capture=False).json["redemption"]["id"]
    assert account_state(app, member.account_id) == (500, 300)
    for _ in range(2):
        assert till.post(f"/redemptions/{captured}/void").json["redemption"]["status"] == "voided"
        assert till.post(f"/redemptions/{held}/void").json["redemption"]["status"] == "voided"
    assert account_state(app, member.account_id) == (1000, 0)
    assert till.post(f"/redemptions/{held}/capture").json["error"]["code"] == "redemption_voided"
    assert len(_events(app)) == 4
    assert_ledger_consistent(app)


def test_a_terminal_of_the_same_store_may_capture_another_store_may_not(app, till):
    member = enroll_member(app, balance=1000)
    rid = till.redeem(till.checkout(member.google_scan()), points=100, capture=False).json[
        "redemption"]["id"]
    assert new_till(app, "S2").post(f"/redemptions/{rid}/capture").status_code == 404
    assert new_till(app, "S1").post(f"/redemptions/{rid}/capture").status_code == 200


def test_expired_hold_returns_on_capture_on_next_access_and_by_cli(make_app):
    app = make_app(HOLD_TTL_SECONDS=0)
    till = new_till(app)
    member = enroll_member(app, balance=1000)
    checkout = till.checkout(member.google_scan())
    rid = till.redeem(checkout, points=100, capture=False).json["redemption"]["id"]
    response = till.post(f"/redemptions/{rid}/capture")
    assert response.status_code == 409
    assert response.json["error"]["code"] == "hold_expired"
    assert account_state(app, member.account_id) == (1000, 0)

    till.redeem(checkout, points=200, capture=False)
    assert account_state(app, member.account_id) == (1000, 200)
    assert till.get(f"/cards/{member.card_number}").json["balance"] == {"points": 1000, "held": 0}

    till.redeem(checkout, points=300, capture=False)
    result = app.test_cli_runner().invoke(args=["holds", "release-expired"])
    assert result.exit_code == 0, result.output
    assert "released 1 hold(s)" in result.output
    assert account_state(app, member.account_id) == (1000, 0)
    assert [e["reason"] for e in _events(app)] == ["hold", "hold_expired"] * 3
    assert_ledger_consistent(app)
