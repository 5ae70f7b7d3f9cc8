"""Console: stores and tills. Admins and marketers create and edit stores, create tills (the key
shown once with a QR code for the cashier page), revoke and unlock them; support only reads."""

from __future__ import annotations

import re
from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from gateway.models.base import utcnow
from gateway.models.pos import Store, Terminal
from gateway.pos.terminals import hash_key
from gateway.runtime import runtime
from tests.console_helpers import audits, csrf_of, post_form, signed_in_client
from tests.factories import demo_program

STORE_FORM = {
    "code": "BERLIN-1",
    "name": "Berlin Mitte",
    "program": "demo",
    "address": "Unter den Linden 1, 10117 Berlin",
    "timezone": "Europe/Berlin",
    "latitude": "52.5170",
    "longitude": "13.3889",
}
_KEY = re.compile(r'<code id="till-key">(gwt_[^<]+)</code>')
_LINK = re.compile(r'<a id="cashier-link" href="([^"]+)"')


def _store(app: Flask, code: str) -> Store | None:
    with runtime(app).sessions() as session:
        return session.scalar(select(Store).where(Store.code == code))


def _tills(app: Flask) -> list[Terminal]:
    with runtime(app).sessions() as session:
        return list(session.scalars(select(Terminal).order_by(Terminal.id)))


def _create_store(client: FlaskClient, **changes: str) -> object:
    return post_form(client, "/console/stores/new", {**STORE_FORM, **changes})


def _create_till(client: FlaskClient, code: str = "BERLIN-1", name: str = "Till 1") -> str:
    """Create a till on the store page; the key the page shows once."""
    page = post_form(
        client, f"/console/stores/{code}/tills", {"name": name}, f"/console/stores/{code}/tills"
    )
    assert page.status_code == 200, page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-store"
    match = _KEY.search(page.get_data(as_text=True))
    assert match
    return match.group(1)


def _pos_status(app: Flask, key: str) -> int:
    """An authenticated POS call answers 400 (bad number); an unknown or revoked key 401."""
    return (
        app.test_client()
        .get("/pos/v1/cards/1", headers={"Authorization": f"Bearer {key}"})
        .status_code
    )


def test_admin_creates_a_store_with_every_field(app):
    demo_program(app)
    client = signed_in_client(app, "admin")
    answer = _create_store(client)
    assert answer.status_code == 302
    assert answer.headers["Location"].endswith("/console/stores/BERLIN-1/tills")
    store = _store(app, "BERLIN-1")
    assert store is not None
    assert (store.name, store.address, store.timezone) == (
        "Berlin Mitte",
        "Unter den Linden 1, 10117 Berlin",
        "Europe/Berlin",
    )
    assert (store.latitude, store.longitude) == (52.517, 13.3889)
    [row] = audits(app, "store.created")
    assert row.actor.startswith("operator:")
    assert row.subject == "store:BERLIN-1"
    assert row.details["after"]["timezone"] == "Europe/Berlin"
    assert row.details["after"]["program"] == "demo"

    page = client.get("/console/stores/BERLIN-1/tills").get_data(as_text=True)
    assert "Store Berlin Mitte was created" in page
    assert 'id="no-tills"' in page
    listing = client.get("/console/stores").get_data(as_text=True)
    assert "BERLIN-1" in listing and "Berlin Mitte" in listing and "Europe/Berlin" in listing


def test_bad_store_fields_are_field_errors_and_nothing_is_stored(app):
    demo_program(app)
    client = signed_in_client(app, "marketer")
    answer = _create_store(
        client,
        code="bad code!",
        timezone="Mars/Olympus_Mons",
        latitude="91",
        longitude="east",
        name="x" * 121,
    )
    assert answer.status_code == 422
    page = answer.get_data(as_text=True)
    for field in ("code", "timezone", "latitude", "longitude", "name"):
        assert f'id="error-{field}"' in page, field
    assert 'value="Mars/Olympus_Mons"' in page  # what was typed is kept
    assert "Unter den Linden 1" in page
    assert _store(app, "bad code!") is None
    assert audits(app, "store.created") == []

    only_latitude = _create_store(client, latitude="52.5", longitude="")
    assert only_latitude.status_code == 422
    assert "Give both latitude and longitude, or neither." in only_latitude.get_data(as_text=True)
    assert _store(app, "BERLIN-1") is None

    no_program = _create_store(client, program="")
    assert no_program.status_code == 422
    assert 'id="error-program"' in no_program.get_data(as_text=True)
    traversal = _create_store(client, timezone="../../etc/passwd")
    assert traversal.status_code == 422
    assert 'id="error-timezone"' in traversal.get_data(as_text=True)
    assert _store(app, "BERLIN-1") is None


def test_a_store_code_is_unique(app):
    demo_program(app)
    client = signed_in_client(app, "admin")
    assert _create_store(client).status_code == 302
    again = _create_store(client, name="Another")
    assert again.status_code == 422
    assert "already exists" in again.get_data(as_text=True)
    assert _store(app, "BERLIN-1").name == "Berlin Mitte"
    assert len(audits(app, "store.created")) == 1


def test_edit_a_store_records_before_and_after(app):
    demo_program(app)
    client = signed_in_client(app, "admin")
    _create_store(client)
    form = client.get("/console/stores/BERLIN-1/edit").get_data(as_text=True)
    assert 'value="Europe/Berlin"' in form and 'value="52.517"' in form
    edited = post_form(
        client,
        "/console/stores/BERLIN-1/edit",
        {**STORE_FORM, "timezone": "Europe/Lisbon", "latitude": "", "longitude": ""},
    )
    assert edited.status_code == 302
    store = _store(app, "BERLIN-1")
    assert (store.timezone, store.latitude, store.longitude) == ("Europe/Lisbon", None, None)
    [row] = audits(app, "store.edited")
    assert row.details["before"] == {
        "timezone": "Europe/Berlin",
        "latitude": 52.517,
        "longitude": 13.3889,
    }
    assert row.details["after"] == {
        "timezone": "Europe/Lisbon",
        "latitude": None,
        "longitude": None,
    }

    bad = post_form(client, "/console/stores/BERLIN-1/edit", {**STORE_FORM, "timezone": "Nowhere"})
    assert bad.status_code == 422
    assert 'value="Nowhere"' in bad.get_data(as_text=True)
    assert _store(app, "BERLIN-1").timezone == "Europe/Lisbon"
    assert len(audits(app, "store.edited")) == 1


def test_a_till_is_created_with_its_key_shown_once_and_a_qr_for_the_cashier_page(app):
    demo_program(app)
    client = signed_in_client(app, "admin")
    _create_store(client)
    page = post_form(
        client,
        "/console/stores/BERLIN-1/tills",
        {"name": "Till 1"},
        "/console/stores/BERLIN-1/tills",
    )
    html = page.get_data(as_text=True)
    key = _KEY.search(html).group(1)
    link = _LINK.search(html).group(1)
    assert link == f"https://gateway.test/cashier#key={key}"
    assert 'id="till-qr"' in html and 'src="data:image/svg+xml' in html
    [terminal] = _tills(app)
    assert terminal.key_hash == hash_key(key) and key not in terminal.key_prefix + terminal.key_hash
    assert terminal.name == "Till 1"
    [row] = audits(app, "terminal.created")
    assert row.subject == f"terminal:{terminal.id}" and row.actor.startswith("operator:")
    assert key not in str(row.details)

    store_page = client.get("/console/stores/BERLIN-1/tills").get_data(as_text=True)
    assert key not in store_page  # shown once: only the prefix from now on
    assert terminal.key_prefix in store_page
    assert re.search(r'class="last-seen">never<', store_page)
    assert _pos_status(app, key) == 400


def test_till_name_too_long_is_a_field_error(app):
    demo_program(app)
    client = signed_in_client(app, "admin")
    _create_store(client)
    answer = post_form(
        client,
        "/console/stores/BERLIN-1/tills",
        {"name": "t" * 121},
        "/console/stores/BERLIN-1/tills",
    )
    assert answer.status_code == 422
    assert 'id="error-name"' in answer.get_data(as_text=True)
    assert _tills(app) == []


def test_last_seen_shows_the_time_of_the_tills_requests(app):
    demo_program(app)
    client = signed_in_client(app, "admin")
    _create_store(client)
    key = _create_till(client)
    assert _pos_status(app, key) == 400
    [terminal] = _tills(app)
    assert terminal.last_seen_at is not None
    page = client.get("/console/stores/BERLIN-1/tills").get_data(as_text=True)
    assert terminal.last_seen_at.strftime("%Y-%m-%d %H:%M UTC") in page
    assert not re.search(r'class="last-seen">never<', page)


def test_revoke_a_till_stops_its_key_and_is_idempotent(app):
    demo_program(app)
    client = signed_in_client(app, "admin")
    _create_store(client)
    key = _create_till(client)
    [terminal] = _tills(app)
    path = f"/console/stores/BERLIN-1/tills/{terminal.id}/revoke"
    form = "/console/stores/BERLIN-1/tills"
    answer = post_form(client, path, {}, form)
    assert answer.status_code == 302
    assert _pos_status(app, key) == 401
    page = client.get(form).get_data(as_text=True)
    assert "was revoked" in page and 'data-state="revoked"' in page
    assert post_form(client, path, {}, form).status_code == 302
    [row] = audits(app, "terminal.revoked")
    assert (row.details["before"], row.details["after"]) == ({"revoked": False}, {"revoked": True})


def test_unlock_a_locked_till(app):
    demo_program(app)
    client = signed_in_client(app, "marketer")
    _create_store(client)
    _create_till(client)
    [terminal] = _tills(app)
    with runtime(app).sessions() as session:
        session.execute(update(Terminal).values(locked_until=utcnow() + timedelta(minutes=10)))
        session.commit()
    form = "/console/stores/BERLIN-1/tills"
    assert 'class="unlock"' in client.get(form).get_data(as_text=True)
    answer = post_form(client, f"{form}/{terminal.id}/unlock", {}, form)
    assert answer.status_code == 302
    [after] = _tills(app)
    assert after.locked_until is not None and after.locked_until <= utcnow()
    page = client.get(form).get_data(as_text=True)
    assert "was unlocked" in page and 'class="unlock"' not in page
    assert len(audits(app, "terminal.unlocked")) == 1

    again = post_form(client, f"{form}/{terminal.id}/unlock", {}, form)
    assert again.status_code == 302
    assert "was not locked" in client.get(form).get_data(as_text=True)
    assert len(audits(app, "terminal.unlocked")) == 1


def test_a_till_of_another_store_is_not_found_through_this_store(app):
    demo_program(app)
    client = signed_in_client(app, "admin")
    _create_store(client)
    _create_store(client, code="PARIS-1", name="Paris")
    _create_till(client, "PARIS-1")
    [terminal] = _tills(app)
    form = "/console/stores/BERLIN-1/tills"
    answer = post_form(client, f"{form}/{terminal.id}/revoke", {}, form)
    assert answer.status_code == 404
    assert _tills(app)[0].revoked_at is None
    assert client.get("/console/stores/NOPE/tills").status_code == 404


def test_support_reads_stores_and_tills_but_cannot_change_them(app):
    demo_program(app)
    admin = signed_in_client(app, "admin")
    _create_store(admin)
    key = _create_till(admin)
    [terminal] = _tills(app)

    support = signed_in_client(app, "support")
    listing = support.get("/console/stores")
    assert listing.status_code == 200
    assert "BERLIN-1" in listing.get_data(as_text=True)
    assert 'id="new-store"' not in listing.get_data(as_text=True)
    page = support.get("/console/stores/BERLIN-1/tills")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and terminal.key_prefix in html
    assert "Revoke" not in html and 'id="create-till"' not in html and "Edit the store" not in html
    assert support.get("/console/stores/new").status_code == 403
    assert support.get("/console/stores/BERLIN-1/edit").status_code == 403

    token = csrf_of(support, "/console/stores/BERLIN-1/tills")
    for path, data in (
        ("/console/stores/BERLIN-1/tills", {"name": "sneaky"}),
        (f"/console/stores/BERLIN-1/tills/{terminal.id}/revoke", {}),
        ("/console/stores/new", STORE_FORM),
    ):
        answer = support.post(path, data={"csrf_token": token, **data})
        assert answer.status_code == 403, path
    forbidden = audits(app, "console.forbidden")
    assert [row.subject for row in forbidden] == [
        "GET /console/stores/new",
        "GET /console/stores/BERLIN-1/edit",
        "POST /console/stores/BERLIN-1/tills",
        f"POST /console/stores/BERLIN-1/tills/{terminal.id}/revoke",
        "POST /console/stores/new",
    ]
    assert {row.details["role"] for row in forbidden} == {"support"}
    assert len(_tills(app)) == 1 and _tills(app)[0].revoked_at is None
    assert _pos_status(app, key) == 400


def test_forms_without_a_valid_csrf_token_change_nothing(app):
    demo_program(app)
    client = signed_in_client(app, "admin")
    assert client.post("/console/stores/new", data=STORE_FORM).status_code == 400
    bad = client.post("/console/stores/new", data={**STORE_FORM, "csrf_token": "forged"})
    assert bad.status_code == 400
    assert _store(app, "BERLIN-1") is None
    _create_store(client)
    assert client.post("/console/stores/BERLIN-1/tills", data={"name": "x"}).status_code == 400
    assert _tills(app) == []


def test_signed_out_visitors_are_sent_to_sign_in(app):
    answer = app.test_client().get("/console/stores")
    assert answer.status_code == 302 and "/console/login" in answer.headers["Location"]


def test_the_nav_shows_the_stores_section(app):
    client = signed_in_client(app, "support")
    home = client.get("/console").get_data(as_text=True)
    assert 'href="/console/stores"' in home
