"""Admin API: members and cards with support/admin keys; the same services as the console."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select

from gateway.models import Card, LedgerEntry
from gateway.runtime import runtime
from gateway.services.operate import api_keys
from tests.console_helpers import audits
from tests.factories import enroll_member
from tests.integration.conftest import account_state, assert_ledger_consistent, new_till
from tests.member_helpers import apple_scan

CARDS = "/admin/v1/programs/demo/cards"


def _key(app: Flask, scope: str) -> tuple[int, dict[str, str]]:
    with runtime(app).sessions() as session:
        created = api_keys.create_api_key(session, "test", f"{scope} robot", scope)
        return created.key.id, {"Authorization": f"Bearer {created.secret}"}


def test_keys_beyond_their_scope_are_refused_and_audited(app):
    member = enroll_member(app)
    key_id, marketer = _key(app, "marketer")
    client = app.test_client()

    for method, path in (
        ("get", "/admin/v1/programs/demo/members?q=x@example.com"),
        ("get", f"{CARDS}/{member.card_number}"),
        ("post", f"{CARDS}/{member.card_number}/revoke"),
    ):
        answer = getattr(client, method)(path, headers=marketer)
        assert answer.status_code == 403, path
    assert client.get(f"{CARDS}/{member.card_number}").status_code == 401
    with runtime(app).sessions() as session:
        assert session.scalars(select(Card.status)).one() == "active"
    refused = audits(app, "admin_api.forbidden")
    assert len(refused) == 3 and {row.actor for row in refused} == {f"apikey:{key_id}"}


def test_find_and_read_a_member(app):
    member = enroll_member(app, email="ana@example.com", balance=300)
    _, support = _key(app, "support")
    client = app.test_client()

    found = client.get("/admin/v1/programs/demo/members?q=ANA@example.com", headers=support)
    page = client.get(f"{CARDS}/{member.card_number}", headers=support)

    assert found.status_code == 200
    (hit,) = found.json["items"]
    assert (hit["card_number"], hit["matched_by"], hit["balance"]) == (
        member.card_number,
        "email",
        300,
    )
    assert page.status_code == 200
    assert page.json["balance"] == {"points": 300, "held": 0, "available": 300, "lifetime": 300}
    assert page.json["card"]["status"] == "active"
    assert {p["wallet"] for p in page.json["passes"]} == {"apple", "google"}
    assert page.json["ledger"]["entries"][0]["kind"] == "import"
    bad = client.get("/admin/v1/programs/demo/members?q=", headers=support)
    assert bad.status_code == 422 and "q" in bad.json["error"]["fields"]
    assert client.get(f"{CARDS}/{member.card_number}?before=x", headers=support).status_code == 422
    missing = client.get("/admin/v1/programs/nope/members?q=a@b.co", headers=support)
    assert missing.status_code == 404 and missing.json["error"]["code"] == "not_found"


def test_points_need_an_idempotency_key_and_apply_once(app):
    member = enroll_member(app, balance=100)
    _, support = _key(app, "support")
    client = app.test_client()
    path = f"{CARDS}/{member.card_number}/points"
    body = {"points": -30, "reason": "Returned goods"}

    missing = client.post(path, json=body, headers=support)
    invalid = client.post(path, json=body, headers={**support, "Idempotency-Key": "no spaces!"})
    first = client.post(path, json=body, headers={**support, "Idempotency-Key": "key-0000001"})
    again = client.post(path, json=body, headers={**support, "Idempotency-Key": "key-0000001"})
    other = client.post(
        path, json={**body, "points": 5}, headers={**support, "Idempotency-Key": "key-0000001"}
    )

    assert missing.json["error"]["code"] == "idempotency_key_missing"
    assert invalid.json["error"]["code"] == "idempotency_key_invalid"
    assert first.status_code == 201 and first.json["adjustment"]["balance"]["points"] == 70
    assert again.status_code == 200 and again.json["adjustment"]["repeated"] is True
    assert other.status_code == 409 and other.json["error"]["code"] == "request_reused"
    with runtime(app).sessions() as session:
        rows = session.scalars(select(LedgerEntry).where(LedgerEntry.kind == "adjustment")).all()
    assert len(rows) == 1 and account_state(app, member.account_id) == (70, 0)
    assert_ledger_consistent(app)


def test_bad_adjustment_bodies_name_their_fields(app):
    member = enroll_member(app, balance=100)
    _, support = _key(app, "support")
    path = f"{CARDS}/{member.card_number}/points"
    headers = {**support, "Idempotency-Key": "key-bad-0001"}
    client = app.test_client()

    for body, fields in (
        ({"points": "ten", "reason": "x"}, {"points"}),
        ({"points": 10}, {"reason"}),
        ({"points": 10, "reason": "x", "extra": 1}, {"extra"}),
        ({"points": 0, "reason": " "}, {"points", "reason"}),
        ({"points": 10**9, "reason": "typo"}, {"points"}),
    ):
        answer = client.post(path, json=body, headers=headers)
        assert answer.status_code == 422, body
        assert set(answer.json["error"]["fields"]) == fields, body
    too_much = client.post(path, json={"points": -101, "reason": "x"}, headers=headers)
    assert too_much.status_code == 409 and too_much.json["error"]["code"] == "insufficient_points"
    assert client.post(path, data="[]", headers=headers).status_code == 400
    assert account_state(app, member.account_id) == (100, 0)


def test_revoke_replace_unlock_and_erase(app):
    member = enroll_member(app, email="eve@example.com", balance=200)
    key_id, admin = _key(app, "admin")
    till = new_till(app)
    client = app.test_client()
    card = f"{CARDS}/{member.card_number}"

    revoked = client.post(f"{card}/revoke", headers=admin)
    again = client.post(f"{card}/revoke", headers=admin)
    assert (revoked.json["changed"], again.json["changed"]) == (True, False)
    assert revoked.json["card"]["status"] == "revoked"
    assert till.identify(apple_scan(app, member.card_number)).json["error"]["code"] == (
        "card_revoked"
    )

    replaced = client.post(f"{card}/replace", headers=admin)
    assert replaced.status_code == 200 and replaced.json["card"]["status"] == "active"
    assert "/api/v1/passes/apple/" in replaced.json["links"]["apple_pkpass_url"]
    assert till.identify(apple_scan(app, member.card_number)).status_code == 200

    assert client.post(f"{card}/unlock", headers=admin).json["changed"] is False

    unconfirmed = client.post(f"{card}/erase", json={"confirm": False}, headers=admin)
    assert unconfirmed.status_code == 422
    erased = client.post(f"{card}/erase", json={"confirm": True}, headers=admin)
    assert erased.status_code == 200 and erased.json["changed"] is True
    assert erased.json["member"]["email"] is None
    assert client.post(f"{card}/erase", json={"confirm": True}, headers=admin).json["changed"] is (
        False
    )
    closed = client.post(f"{card}/replace", headers=admin)
    assert closed.status_code == 409 and closed.json["error"]["code"] == "member_closed"
    for action in ("card.revoked", "card.replaced", "member.erased"):
        assert {row.actor for row in audits(app, action)} == {f"apikey:{key_id}"}, action
    unknown = client.post(f"{CARDS}/7000000000000013/revoke", headers=admin)
    assert unknown.status_code == 404 and unknown.json["error"]["code"] == "not_found"


def test_the_operations_are_published_in_openapi(app):
    document = app.test_client().get("/admin/v1/openapi.json").json
    paths = document["paths"]
    card = "/programs/{slug}/cards/{number}"
    assert "get" in paths["/programs/{slug}/members"] and "get" in paths[card]
    for action in ("points", "revoke", "replace", "unlock", "erase"):
        operation = paths[f"{card}/{action}"]["post"]
        assert {"401", "403", "404"} <= set(operation["responses"]), action
    headers = [p["name"] for p in paths[f"{card}/points"]["post"]["parameters"]]
    assert "Idempotency-Key" in headers
    assert "MemberPage" in document["components"]["schemas"]
