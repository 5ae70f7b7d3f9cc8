"""Kill switches act at the next POS request on every worker: two app instances on the same
database (two "workers", each with its own engine and pool), the switch pulled on one and the
till served by the other, with no restart and no wait in between."""

from __future__ import annotations

from flask import Flask

from tests.conftest import AppFactory
from tests.console_helpers import post_form, signed_in_client
from tests.factories import demo_program, enroll_member
from tests.integration.conftest import Till, new_till


def _workers(make_app: AppFactory) -> tuple[Flask, Flask, Till]:
    console_worker, pos_worker = make_app(), make_app()
    demo_program(console_worker)
    # The till's worker serves its first requests before the switch: its pool is warm.
    return console_worker, pos_worker, new_till(pos_worker)


def _offered(till: Till, scan: str) -> dict[str, bool]:
    answer = till.identify(scan)
    assert answer.status_code == 200, answer.json
    return {item["id"]: item["available"] for item in answer.json["rewards"]}


def test_a_reward_switched_off_on_one_worker_is_refused_by_the_other(make_app):
    console_worker, pos_worker, till = _workers(make_app)
    member = enroll_member(pos_worker, balance=5000)
    assert _offered(till, member.google_scan())["coffee"] is True
    checkout = till.checkout(member.apple_scan())
    assert till.redeem(checkout, reward_id="coffee").status_code == 201

    marketer = signed_in_client(console_worker, "marketer")
    switch = "/console/rewards/demo/switch/coffee"
    assert post_form(marketer, switch, {"state": "off"}, "/console/rewards").status_code == 302

    refused = till.redeem(checkout, reward_id="coffee")
    assert refused.status_code == 409
    assert refused.json["error"]["code"] == "reward_unavailable"
    assert _offered(till, member.apple_scan())["coffee"] is False

    assert post_form(marketer, switch, {"state": "on"}, "/console/rewards").status_code == 302
    assert till.redeem(checkout, reward_id="coffee").status_code == 201


def test_pausing_the_program_on_one_worker_stops_redemptions_on_the_other(make_app):
    console_worker, pos_worker, till = _workers(make_app)
    member = enroll_member(pos_worker, balance=5000)
    checkout = till.checkout(member.google_scan())
    assert till.redeem(checkout, points=100).status_code == 201

    marketer = signed_in_client(console_worker, "marketer")
    path = "/console/rewards/demo/redemptions"
    assert post_form(marketer, path, {"state": "paused"}, "/console/rewards").status_code == 302

    for body in ({"reward_id": "pastry"}, {"points": 100}):
        refused = till.redeem(checkout, **body)
        assert refused.status_code == 409
        assert refused.json["error"]["code"] == "reward_unavailable"
    assert not any(_offered(till, member.apple_scan()).values())
    # Earning goes on while redemptions are paused.
    order = {"id": "PAUSED-1", "total": "10.00", "currency": "EUR"}
    assert till.accrue(order, checkout=checkout).status_code == 201

    assert post_form(marketer, path, {"state": "on"}, "/console/rewards").status_code == 302
    assert till.redeem(checkout, reward_id="pastry").status_code == 201
