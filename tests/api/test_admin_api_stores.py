"""Admin API /admin/v1: stores and tills (admin and marketer keys change, support keys read)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import select, update

from gateway.models.base import utcnow
from gateway.models.pos import Store, Terminal
from gateway.pos.terminals import hash_key
from gateway.runtime import runtime
from gateway.services.operate.api_keys import create_api_key
from tests.console_helpers import audits
from tests.factories import demo_program

STORE = {
    "code": "LISBON-1",
    "program": "demo",
    "name": "Lisbon Baixa",
    "address": "Rua Augusta 1",
    "timezone": "Europe/Lisbon",
    "latitude": 38.71,
    "longitude": -9.137,
}


def _key(app: Flask, scope: str) -> dict[str, str]:
    with runtime(app).sessions() as session:
        created = create_api_key(session, "test", f"{scope} key", scope)
    return {"Authorization": f"Bearer {created.secret}"}


@pytest.fixture
def marketer(app: Flask) -> dict[str, str]:
    demo_program(app)
    return _key(app, "marketer")


def _store(app: Flask, code: str) -> Store | None:
    with runtime(app).sessions() as session:
        return session.scalar(select(Store).where(Store.code == code))


def _pos_status(client, key: str) -> int:
    """400 (a bad card number) once authenticated; 401 for an unknown or revoked key."""
    return client.get("/pos/v1/cards/1", headers={"Authorization": f"Bearer {key}"}).status_code


def test_create_list_get_and_edit_a_store(app, client, marketer):
    created = client.post("/admin/v1/stores", json=STORE, headers=marketer)
    assert created.status_code == 201, created.json
    store = created.json["store"]
    assert {k: store[k] for k in STORE} == STORE
    assert store["live_tills"] == 0
    [row] = audits(app, "store.created")
    assert row.actor.startswith("apikey:") and row.subject == "store:LISBON-1"

    support = _key(app, "support")
    listing = client.get("/admin/v1/stores", headers=support)
    assert listing.status_code == 200
    assert [item["code"] for item in listing.json["items"]] == ["LISBON-1"]
    assert listing.json["total"] == 1
    one = client.get("/admin/v1/stores/LISBON-1", headers=support)
    assert one.status_code == 200 and one.json["store"]["timezone"] == "Europe/Lisbon"

    edited = client.patch(
        "/admin/v1/stores/LISBON-1",
        json={
            "timezone": "Atlantic/Azores",
            "latitude": None,
            "longitude": None,
            "code": "LISBON-1",
        },
        headers=marketer,
    )
    assert edited.status_code == 200, edited.json
    assert (edited.json["store"]["timezone"], edited.json["store"]["latitude"]) == (
        "Atlantic/Azores",
        None,
    )
    assert edited.json["store"]["name"] == "Lisbon Baixa"  # not sent: kept
    [change] = audits(app, "store.edited")
    assert change.details["before"] == {
        "timezone": "Europe/Lisbon",
        "latitude": 38.71,
        "longitude": -9.137,
    }
    assert change.details["after"] == {
        "timezone": "Atlantic/Azores",
        "latitude": None,
        "longitude": None,
    }


def test_bad_store_bodies_are_field_errors_and_store_nothing(app, client, marketer):
    cases = [
        ({**STORE, "latitude": "north"}, "latitude"),
        ({**STORE, "latitude": 90.5}, "latitude"),
        ({**STORE, "longitude": -181}, "longitude"),
        ({**STORE, "longitude": None}, "longitude"),
        ({**STORE, "timezone": "Europe/Atlantis"}, "timezone"),
        ({**STORE, "code": "no spaces"}, "code"),
        ({**STORE, "code": "C" * 33}, "code"),
        ({**STORE, "program": "nope"}, "program"),
        ({**STORE, "colour": "red"}, "colour"),
        ({**STORE, "latitude": True}, "latitude"),
        ({k: v for k, v in STORE.items() if k != "code"}, "code"),
    ]
    for body, field in cases:
        answer = client.post("/admin/v1/stores", json=body, headers=marketer)
        assert answer.status_code == 422, (body, answer.json)
        assert answer.json["error"]["code"] == "validation_error"
        assert field in answer.json["error"]["fields"], (field, answer.json)
    assert client.post("/admin/v1/stores", data="[]", headers=marketer).status_code == 400
    assert _store(app, "LISBON-1") is None
    assert audits(app, "store.created") == []


def test_duplicate_code_and_fixed_fields(app, client, marketer):
    assert client.post("/admin/v1/stores", json=STORE, headers=marketer).status_code == 201
    again = client.post("/admin/v1/stores", json={**STORE, "name": "x"}, headers=marketer)
    assert again.status_code == 422 and "code" in again.json["error"]["fields"]
    for body, field in (({"code": "OTHER"}, "code"), ({"program": "other"}, "program")):
        answer = client.patch("/admin/v1/stores/LISBON-1", json=body, headers=marketer)
        assert answer.status_code == 422 and field in answer.json["error"]["fields"]
    missing = client.patch("/admin/v1/stores/NOPE", json={"name": "x"}, headers=marketer)
    assert missing.status_code == 404
    assert _store(app, "LISBON-1").name == "Lisbon Baixa"
    assert audits(app, "store.edited") == []


def test_support_keys_read_but_do_not_change(app, client, marketer):
    client.post("/admin/v1/stores", json=STORE, headers=marketer)
    support = _key(app, "support")
    for method, path, body in (
        ("post", "/admin/v1/stores", {**STORE, "code": "X"}),
        ("patch", "/admin/v1/stores/LISBON-1", {"name": "x"}),
        ("post", "/admin/v1/stores/LISBON-1/tills", {}),
    ):
        answer = getattr(client, method)(path, json=body, headers=support)
        assert answer.status_code == 403, path
        assert answer.json["error"]["code"] == "forbidden"
    assert len(audits(app, "admin_api.forbidden")) == 3
    assert client.get("/admin/v1/stores/LISBON-1/tills", headers=support).status_code == 200
    assert client.get("/admin/v1/stores").status_code == 401
    assert _store(app, "X") is None


def test_till_lifecycle(app, client, marketer):
    client.post("/admin/v1/stores", json=STORE, headers=marketer)
    created = client.post("/admin/v1/stores/LISBON-1/tills", headers=marketer)
    assert created.status_code == 201, created.json
    assert created.headers["Cache-Control"] == "no-store"
    key, till = created.json["key"], created.json["till"]
    assert created.json["cashier_url"] == f"https://gateway.test/cashier#key={key}"
    assert (till["store"], till["state"], till["last_seen_at"]) == ("LISBON-1", "active", None)
    assert key.startswith(till["key_prefix"])
    with runtime(app).sessions() as session:
        terminal = session.get(Terminal, till["id"])
        assert terminal.key_hash == hash_key(key)

    named = client.post(
        "/admin/v1/stores/LISBON-1/tills", json={"name": "Till 2"}, headers=marketer
    )
    assert named.status_code == 201 and named.json["till"]["name"] == "Till 2"
    too_long = client.post(
        "/admin/v1/stores/LISBON-1/tills", json={"name": "n" * 121}, headers=marketer
    )
    assert too_long.status_code == 422 and "name" in too_long.json["error"]["fields"]
    assert client.post("/admin/v1/stores/NOPE/tills", headers=marketer).status_code == 404

    assert _pos_status(client, key) == 400
    listing = client.get("/admin/v1/stores/LISBON-1/tills", headers=marketer)
    assert [item["id"] for item in listing.json["items"]] == [till["id"], named.json["till"]["id"]]
    assert listing.json["items"][0]["last_seen_at"] is not None
    assert listing.json["items"][1]["last_seen_at"] is None
    assert key not in listing.get_data(as_text=True)
    assert (
        client.get("/admin/v1/stores/LISBON-1", headers=marketer).json["store"]["live_tills"] == 2
    )

    revoked = client.post(f"/admin/v1/tills/{till['id']}/revoke", headers=marketer)
    assert revoked.status_code == 200 and revoked.json["till"]["state"] == "revoked"
    assert _pos_status(client, key) == 401
    again = client.post(f"/admin/v1/tills/{till['id']}/revoke", headers=marketer)
    assert again.status_code == 200
    assert len(audits(app, "terminal.revoked")) == 1
    assert client.post("/admin/v1/tills/999999/revoke", headers=marketer).status_code == 404
    assert len(audits(app, "terminal.created")) == 2


def test_unlock_a_till(app, client, marketer):
    client.post("/admin/v1/stores", json=STORE, headers=marketer)
    till = client.post("/admin/v1/stores/LISBON-1/tills", headers=marketer).json["till"]
    until = utcnow() + timedelta(minutes=5)
    with runtime(app).sessions() as session:
        session.execute(update(Terminal).values(locked_until=until))
        session.commit()
    listing = client.get("/admin/v1/stores/LISBON-1/tills", headers=marketer)
    assert listing.json["items"][0]["state"] == "locked"
    unlocked = client.post(f"/admin/v1/tills/{till['id']}/unlock", headers=marketer)
    assert unlocked.status_code == 200
    assert unlocked.json["lifted_lock"] is not None
    assert unlocked.json["till"]["state"] == "active"
    again = client.post(f"/admin/v1/tills/{till['id']}/unlock", headers=marketer)
    assert again.json["lifted_lock"] is None
    [row] = audits(app, "terminal.unlocked")
    assert row.actor.startswith("apikey:")
    assert client.post("/admin/v1/tills/999999/unlock", headers=marketer).status_code == 404


def test_openapi_describes_the_store_operations(client):
    paths = client.get("/admin/v1/openapi.json").json["paths"]
    assert set(paths["/stores"]) == {"get", "post"}
    assert set(paths["/stores/{code}"]) == {"get", "patch"}
    assert set(paths["/stores/{code}/tills"]) == {"get", "post"}
    for path in ("/tills/{till_id}/revoke", "/tills/{till_id}/unlock"):
        assert set(paths[path]) == {"post"}
    create = paths["/stores"]["post"]
    assert {"201", "401", "403", "422"} <= set(create["responses"])
    schema = create["requestBody"]["content"]["application/json"]["schema"]
    assert schema["required"] == ["code", "program"]


# The CLI calls the same services (audited as `cli`).


def _run(app: Flask, *args: str):
    return app.test_cli_runner().invoke(args=list(args))


def test_cli_creates_edits_and_lists_stores(app):
    demo_program(app)
    created = _run(
        app,
        "stores",
        "create",
        "MAIN",
        "--name",
        "Main street",
        "--address",
        "1 Main street",
        "--timezone",
        "Europe/Berlin",
        "--latitude",
        "52.5",
        "--longitude",
        "13.4",
    )
    assert created.exit_code == 0, created.output
    assert created.output.strip() == "store MAIN (Main street) created in program demo"
    store = _store(app, "MAIN")
    assert (store.address, store.timezone, store.latitude, store.longitude) == (
        "1 Main street",
        "Europe/Berlin",
        52.5,
        13.4,
    )
    [row] = audits(app, "store.created")
    assert row.actor == "cli"

    bad = _run(app, "stores", "create", "OTHER", "--timezone", "Nowhere", "--latitude", "100")
    assert bad.exit_code != 0
    lines = bad.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: --timezone: ")
    assert "--latitude: " in lines[0] and "Traceback" not in bad.output
    assert _store(app, "OTHER") is None

    edited = _run(app, "stores", "edit", "MAIN", "--timezone", "Europe/Paris", "--clear-location")
    assert edited.exit_code == 0, edited.output
    assert "Europe/Paris, location -" in edited.output
    assert (_store(app, "MAIN").timezone, _store(app, "MAIN").latitude) == ("Europe/Paris", None)
    assert _run(app, "stores", "edit", "NOPE", "--name", "x").exit_code != 0

    assert _run(app, "terminals", "create", "--store", "MAIN", "--name", "till 1").exit_code == 0
    listing = _run(app, "stores", "list")
    assert listing.output.strip() == "MAIN\tdemo\tMain street\tEurope/Paris\t-\t1 till(s)"
    tills = _run(app, "terminals", "list", "--store", "MAIN")
    assert "\tactive\tlast seen never" in tills.output
