"""Idempotency-Key on every mutating POS call: Stripe's semantics, stored in the database."""

from datetime import timedelta

from sqlalchemy import insert

from gateway.models.base import utcnow
from gateway.models.pos import IdempotencyRecord
from gateway.pos.idempotency import fingerprint
from gateway.runtime import runtime
from tests.factories import enroll_member
from tests.integration.conftest import account_state, new_till


def test_missing_or_oversized_key_is_a_400(app, till):
    member = enroll_member(app, balance=1000)
    checkout = till.checkout(member.google_scan())
    for path in ("/redemptions", "/accruals", "/refunds", "/redemptions/x/capture",
                 "/redemptions/x/void"):
        response = till.post(path, {"checkout": checkout}, key=None)
        assert response.status_code == 400, path
        assert response.json["error"]["code"] == "idempotency_key_missing"
    response = till.redeem(checkout, key="k" * 256, points=1)
    assert response.status_code == 400
    assert response.json["error"]["code"] == "idempotency_key_invalid"
    assert till.redeem(checkout, key="k" * 255, points=1).status_code == 201


def test_same_key_and_body_replays_the_first_answer_verbatim(app, till):
    member = enroll_member(app, balance=1000)
    checkout = till.checkout(member.google_scan())
    first = till.redeem(checkout, key="pay-1", points=100)
    again = till.redeem(checkout, key="pay-1", points=100)
    assert first.status_code == again.status_code == 201
    assert first.data == again.data
    assert again.headers["Idempotent-Replayed"] == "true"
    assert account_state(app, member.account_id) == (900, 0)


def test_same_key_different_body_is_reused(app, till):
    member = enroll_member(app, balance=1000)
    checkout = till.checkout(member.google_scan())
    till.redeem(checkout, key="pay-1", points=100)
    response = till.redeem(checkout, key="pay-1", points=200)
    assert response.status_code == 422
    assert response.json["error"]["code"] == "idempotency_key_reused"
    assert account_state(app, member.account_id) == (900, 0)


def test_keys_belong_to_one_terminal(app, till):
    member = enroll_member(app, balance=1000)
    order = {"id": "o-1", "total": "10", "currency": "EUR"}
    other = new_till(app, "S2")
    assert till.accrue(order, key="k", card_number=member.card_number).status_code == 201
    assert other.accrue(order, key="k", card_number=member.card_number).status_code == 201


def test_a_failed_request_stores_nothing_and_can_be_retried(app, till):
    member = enroll_member(app, balance=100)
    checkout = till.checkout(member.google_scan())
    assert till.redeem(checkout, key="k1", points=500).status_code == 409
    till.accrue({"id": "o", "total": "400", "currency": "EUR"}, card_number=member.card_number)
    assert till.redeem(checkout, key="k1", points=500).status_code == 201


def _record(app, till, key, body, age):
    with runtime(app).sessions() as session:
        session.execute(
            insert(IdempotencyRecord).values(
                terminal_id=till.terminal_id,
                key=key,
                request_hash=fingerprint("POST", "/pos/v1/redemptions", body),
                created_at=utcnow() - age,
            )
        )
        session.commit()


def test_in_progress_key_is_409_until_it_goes_stale(app, till):
    member = enroll_member(app, balance=1000)
    checkout = till.checkout(member.google_scan())
    body = f'{{"checkout": "{checkout}", "points": 10}}'.encode()
    _record(app, till, "busy", body, timedelta(seconds=1))
    response = till.post("/redemptions", data=body, key="busy")
    assert response.status_code == 409
    assert response.json["error"]["code"] == "idempotency_in_progress"
    _record(app, till, "crashed", body, timedelta(minutes=5))
    response = till.post("/redemptions", data=body, key="crashed")
    assert response.status_code == 201
    assert account_state(app, member.account_id) == (990, 0)


def test_json_key_order_does_not_change_the_fingerprint():
    a = fingerprint("POST", "/p", b'{"a": 1, "b": 2}')
    assert a == fingerprint("POST", "/p", b'{"b":2,"a":1}')
    assert a != fingerprint("POST", "/p", b'{"a": 1, "b": 3}')
    assert a != fingerprint("POST", "/q", b'{"a": 1, "b": 2}')
