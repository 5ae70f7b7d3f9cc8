"""POST /pos/v1/identify: one-time codes accepted once, re-scans, lockout, bad scans."""

import time

import pytest
from sqlalchemy import func, select, update

from gateway.models.card import Card
from gateway.models.outbox import AuditEvent, OutboxEvent
from gateway.models.pos import ScanFailure
from gateway.models.program import Program, Reward
from gateway.pos.terminals import create_store, create_terminal
from gateway.runtime import runtime
from gateway.services.issue.programs import ProgramSpec, create_program
from passes.codes import format_scan, luhn_check_digit
from tests.factories import enroll_member
from tests.integration.conftest import Till, new_till


def _pass(app, card_number, wallet):
    with runtime(app).sessions() as session:
        card = session.scalar(select(Card).where(Card.number == card_number))
        return next(p for p in card.passes if p.wallet == wallet)


def test_google_code_opens_a_checkout_with_the_contract_body(app, till):
    member = enroll_member(app, balance=400, tier="Silver", discount_percent=0)
    response = till.identify(member.google_scan())
    assert response.status_code == 200, response.json
    body = response.json
    assert set(body) == {"checkout", "card", "member", "balance", "rewards"}
    assert set(body["checkout"]) == {"token", "expires_at"}
    assert body["checkout"]["expires_at"].endswith("Z")
    assert body["card"] == {"number": member.card_number, "wallet": "google", "status": "active"}
    assert body["member"]["display_name"].startswith("Test ")
    assert body["member"]["tier"] == "Silver"
    assert body["member"]["discount_percent"] == 5  # the Silver tier's discount
    assert body["balance"] == {"points": 400, "held": 0}
    rewards = {r["id"]: r for r in body["rewards"]}
    assert rewards["pastry"] == {
        "id": "pastry", "name": "Pastry", "cost_points": 300, "available": True,
    }
    assert rewards["coffee"]["available"] is False  # 500 > 400


def test_rewards_list_reflects_the_kill_switch_at_once(app, till):
    member = enroll_member(app, balance=4000)
    with runtime(app).sessions() as session:
        session.execute(
            Reward.__table__.update().where(Reward.code == "pastry").values(enabled=False)
        )
        session.commit()
    rewards = {r["id"]: r["available"] for r in till.identify(member.google_scan()).json["rewards"]}
    assert rewards == {"pastry": False, "coffee": True, "mug": True}


def test_apple_code_is_accepted_once_advances_the_counter_and_writes_pass_changed(app, till):
    member = enroll_member(app, balance=100)
    before = _pass(app, member.card_number, "apple")
    response = till.identify(member.apple_scan())
    assert response.status_code == 200, response.json
    assert response.json["card"]["wallet"] == "apple"
    after = _pass(app, member.card_number, "apple")
    assert after.code_counter == before.code_counter + 1
    assert after.update_tag == before.update_tag + 1
    with runtime(app).sessions() as session:
        query = select(OutboxEvent).where(OutboxEvent.kind == "pass.changed")
        events = list(session.scalars(query))
    assert [e.payload for e in events] == [
        {"pass_id": after.id, "serial": after.serial, "reason": "code_used"}
    ]
    # the phone shows the next code after the push; it is accepted too
    assert till.identify(member.apple_scan(before.code_counter + 1)).status_code == 200


def test_rescan_at_the_same_terminal_returns_the_same_checkout(app, till):
    member = enroll_member(app)
    scan = member.apple_scan()
    first = till.identify(scan)
    again = till.identify(scan)
    assert again.status_code == 200
    assert again.json["checkout"] == first.json["checkout"]
    google = member.google_scan()
    assert till.identify(google).json["checkout"] == till.identify(google).json["checkout"]


def test_replayed_code_at_another_terminal_is_already_used(app, till):
    member = enroll_member(app)
    other = new_till(app, "S2")
    apple, google = member.apple_scan(), member.google_scan()
    assert till.identify(apple).status_code == 200
    assert till.identify(google).status_code == 200
    response = other.identify(apple)
    assert response.status_code == 409
    assert response.json["error"]["code"] == "code_already_used"
    assert "refresh the card" in response.json["error"]["message"]
    assert other.identify(google).json["error"]["code"] == "code_already_used"


def test_rescan_after_the_checkout_expired_is_already_used(make_app):
    app = make_app(CHECKOUT_TTL_SECONDS=0)
    till = new_till(app)
    member = enroll_member(app)
    scan = member.google_scan()
    assert till.identify(scan).status_code == 200
    assert till.identify(scan).json["error"]["code"] == "code_already_used"


def test_wrong_and_stale_codes_are_rejected(app, till):
    member = enroll_member(app)
    wrong = format_scan(member.card_number, "12345678")
    response = till.identify(wrong)
    assert response.status_code == 422
    assert response.json["error"]["code"] == "code_rejected"
    stale = member.google_scan(at=time.time() - 600)
    assert till.identify(stale).json["error"]["code"] == "code_rejected"
    old_apple = member.apple_scan(member.apple_counter + 5)
    assert till.identify(old_apple).json["error"]["code"] == "code_rejected"


def test_too_many_wrong_codes_lock_the_card_and_write_an_audit_row(app, till):
    member = enroll_member(app)
    wrong = format_scan(member.card_number, "00000000")
    codes = [till.identify(wrong).json["error"]["code"] for _ in range(5)]
    assert codes == ["code_rejected"] * 4 + ["card_locked"]
    response = till.identify(member.google_scan())
    assert response.status_code == 423
    assert response.json["error"]["code"] == "card_locked"
    assert int(response.headers["Retry-After"]) > 0
    with runtime(app).sessions() as session:
        actions = list(session.scalars(select(AuditEvent.action)))
    assert actions.count("card.locked") == 1


def test_lock_ends_after_its_time(make_app):
    app = make_app(CARD_LOCK_SECONDS=0, SCAN_FAILURE_LIMIT=2)
    till = new_till(app)
    member = enroll_member(app)
    wrong = format_scan(member.card_number, "00000000")
    assert [till.identify(wrong).status_code for _ in range(2)] == [422, 423]
    assert till.identify(member.google_scan()).status_code == 200


def test_a_terminal_sending_many_unknown_cards_is_rate_limited(make_app):
    app = make_app(TERMINAL_SCAN_FAILURE_LIMIT=3)
    till = new_till(app)
    enroll_member(app)
    unknown = [f"79999999999999{i}" for i in range(4)]
    unknown = [n + luhn_check_digit(n) for n in unknown]
    codes = [till.identify(format_scan(n, "12345678")).status_code for n in unknown]
    assert codes == [404, 404, 404, 429]
    assert int(till.identify("anything").headers["Retry-After"]) > 0


def test_unknown_card_and_card_of_another_program(app, till):
    member = enroll_member(app)
    number = "7" + "0" * 14
    response = till.identify(format_scan(number + luhn_check_digit(number), "12345678"))
    assert response.status_code == 404
    assert response.json["error"]["code"] == "unknown_card"
    with app.app_context(), runtime(app).sessions() as session:
        program = session.scalar(select(Program).where(Program.slug == "demo"))
        create_program(session, ProgramSpec(
            slug="other", name="Other", organization="Other Co",
            apple_pass_type_id=program.apple_pass_type_id, apple_team_id=program.apple_team_id,
            google_issuer_id="1",
        ))
        session.commit()
        create_store(session, "OTHER", "Other store", "other")
        _, key = create_terminal(session, "OTHER")
    foreign = Till(app.test_client(), key, 0, "OTHER")
    response = foreign.identify(member.google_scan())
    assert response.status_code == 404
    assert response.json["error"]["code"] == "unknown_card"


def test_revoked_card_is_gone(app, till):
    member = enroll_member(app)
    with runtime(app).sessions() as session:
        session.execute(
            update(Card).where(Card.number == member.card_number).values(status="revoked")
        )
        session.commit()
    response = till.identify(member.google_scan())
    assert response.status_code == 410
    assert response.json["error"]["code"] == "card_revoked"


@pytest.mark.parametrize(
    "scan",
    [
        "",
        "garbage",
        "x" * 5000,
        "7000000000000001-1234567٣",
        "\uff17\uff10\uff10\uff10-12345678",
        "7000000000000002-12345678",  # bad check digit
        "7000000000000001",
        "7000000000000001-12",
        "7000000000000001-12345678-1",
        "; DROP TABLE cards; --",
        12345678,
        None,
        ["7000000000000001-12345678"],
    ],
)
def test_malformed_scans_are_rejected_before_any_lookup(app, till, scan):
    response = till.identify(scan)
    assert response.status_code == 400
    assert response.json["error"]["code"] == "malformed_scan"
    assert set(response.json["error"]) == {"code", "message"}


def test_missing_scan_and_non_object_bodies(app, till):
    assert till.post("/identify", {}, key=None).json["error"]["code"] == "malformed_scan"
    response = till.post("/identify", data=b"{not json", key=None)
    assert response.status_code == 400
    assert response.json["error"]["code"] == "invalid_json"


def test_code_of_the_wrong_length_is_malformed_and_not_counted(make_app):
    app = make_app(SCAN_FAILURE_LIMIT=2, TERMINAL_SCAN_FAILURE_LIMIT=2)
    till = new_till(app)
    member = enroll_member(app)
    for code in ("123456", "1234567", "123456789", "1234567890"):
        response = till.identify(format_scan(member.card_number, code))
        assert response.status_code == 400, code
        assert response.json["error"]["code"] == "malformed_scan"
        assert "8 digits" in response.json["error"]["message"]
    with runtime(app).sessions() as session:
        assert session.scalar(select(func.count()).select_from(ScanFailure)) == 0
    # neither the card nor the till is any closer to a lock: the right code still works
    assert till.identify(member.google_scan()).status_code == 200


def test_identify_accepts_an_optional_idempotency_key(app, till):
    member = enroll_member(app)
    scan = member.google_scan()
    first = till.post("/identify", {"scan": scan}, key="scan-1")
    again = till.post("/identify", {"scan": scan}, key="scan-1")
    assert first.status_code == again.status_code == 200
    assert first.data == again.data
    assert again.headers.get("Idempotent-Replayed") == "true"


def test_tier_discount_is_the_better_of_member_and_tier(app, till):
    own = enroll_member(app, tier="Gold", discount_percent=12)
    assert till.identify(own.google_scan()).json["member"]["discount_percent"] == 12
    by_tier = enroll_member(app, tier="Gold", discount_percent=0)
    assert till.identify(by_tier.google_scan()).json["member"]["discount_percent"] == 10
