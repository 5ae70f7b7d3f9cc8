"""Apple's pass web service: registrations, changed serials, authenticated fetch with 304s."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from gateway.models import AppleDevice, WalletPass
from gateway.runtime import runtime
from gateway.services.keep_live.apple_updates import next_update_time
from gateway.services.keep_live.outbox import deliver_pending
from passes.codes import format_scan, hotp_code
from tests.factories import enroll_member
from tests.integration.conftest import new_till

BASE = "/wallet/apple/v1"
DEVICE = "a1b2c3d4e5f6"


@pytest.fixture
def apple(app):
    """(member, serial, pass type id, auth header) of a freshly enrolled member's Apple pass."""
    member = enroll_member(app, balance=1000)
    rt = runtime(app)
    with rt.sessions() as session:
        wallet_pass = session.scalars(select(WalletPass).where(WalletPass.wallet == "apple")).one()
        token = rt.secret_box.open(wallet_pass.auth_token, f"pass:{wallet_pass.serial}:apple-auth")
    pass_type = rt.credentials.apple_signer.pass_type_id
    return member, wallet_pass.serial, pass_type, {"Authorization": f"ApplePass {token.decode()}"}


def _register(client, pass_type, serial, headers, body=None):
    return client.post(
        f"{BASE}/devices/{DEVICE}/registrations/{pass_type}/{serial}",
        json={"pushToken": "push-token-1"} if body is None else body,
        headers=headers,
    )


def _pass_json(data: bytes) -> dict:
    return json.loads(zipfile.ZipFile(io.BytesIO(data)).read("pass.json"))


def test_registration_needs_the_pass_token_and_is_idempotent(client, apple):
    _, serial, pass_type, auth = apple
    assert (
        _register(client, pass_type, serial, {"Authorization": "ApplePass wrong"}).status_code
        == 401
    )
    assert _register(client, pass_type, serial, {}).status_code == 401
    assert _register(client, "pass.com.other", serial, auth).status_code == 401
    assert _register(client, pass_type, "unknown-serial", auth).status_code == 401
    bad = _register(client, pass_type, serial, auth, body={})
    assert bad.status_code == 400 and bad.json["error"]["field"] == "pushToken"
    assert _register(client, pass_type, serial, auth).status_code == 201
    assert _register(client, pass_type, serial, auth).status_code == 200


def test_changed_serials_follow_the_update_tag(app, client, apple):
    member, serial, pass_type, auth = apple
    url = f"{BASE}/devices/{DEVICE}/registrations/{pass_type}"
    assert client.get(url).status_code == 204  # nothing registered yet
    _register(client, pass_type, serial, auth)

    first = client.get(url)
    assert first.status_code == 200
    assert first.json["serialNumbers"] == [serial]
    tag = first.json["lastUpdated"]
    assert client.get(url, query_string={"passesUpdatedSince": tag}).status_code == 204

    till = new_till(app)
    assert till.identify(member.apple_scan()).status_code == 200  # the code is used: pass changes
    after = client.get(url, query_string={"passesUpdatedSince": tag})
    assert after.status_code == 200 and after.json["serialNumbers"] == [serial]
    assert int(after.json["lastUpdated"]) > int(tag)


def test_pass_fetch_is_authenticated_conditional_and_shows_the_next_code(app, client, apple):
    member, serial, pass_type, auth = apple
    url = f"{BASE}/passes/{pass_type}/{serial}"
    assert client.get(url).status_code == 401
    assert client.get(url, headers={"Authorization": "ApplePass nope"}).status_code == 401

    first = client.get(url, headers=auth)
    assert first.status_code == 200
    assert first.mimetype == "application/vnd.apple.pkpass"
    modified = first.headers["Last-Modified"]
    assert client.head(url, headers=auth).status_code == 200
    assert client.get(url, headers={**auth, "If-Modified-Since": modified}).status_code == 304

    till = new_till(app)
    checkout = till.checkout(member.apple_scan())
    assert till.redeem(checkout, reward_id="coffee").status_code == 201
    deliver_pending(runtime(app))  # the balance change bumps the pass

    second = client.get(url, headers={**auth, "If-Modified-Since": modified})
    assert second.status_code == 200
    pass_json = _pass_json(second.data)
    next_code = hotp_code(member.apple_secret, 1, digits=member.digits)
    assert pass_json["barcodes"][0]["message"] == format_scan(member.card_number, next_code)
    assert pass_json["storeCard"]["primaryFields"][0]["value"] == 500
    assert any(field["key"] == "last_used" for field in pass_json["storeCard"]["backFields"])


def test_unregistering_forgets_the_device(app, client, apple):
    _, serial, pass_type, auth = apple
    _register(client, pass_type, serial, auth)
    path = f"{BASE}/devices/{DEVICE}/registrations/{pass_type}/{serial}"
    assert client.delete(path, headers={"Authorization": "ApplePass wrong"}).status_code == 401
    assert client.delete(path, headers=auth).status_code == 200
    assert client.get(f"{BASE}/devices/{DEVICE}/registrations/{pass_type}").status_code == 204
    with runtime(app).sessions() as session:
        assert session.scalars(select(AppleDevice)).all() == []


def test_device_logs_are_accepted(client):
    assert client.post(f"{BASE}/log", json={"logs": ["a failure", "b"]}).status_code == 200
    assert client.post(f"{BASE}/log", data="junk").status_code == 200


def test_changes_within_one_second_still_move_last_modified():
    previous = datetime(2026, 1, 1, 10, 0, 0, 200_000, tzinfo=UTC)
    same_second = datetime(2026, 1, 1, 10, 0, 0, 800_000, tzinfo=UTC)
    later = datetime(2026, 1, 1, 10, 0, 5, tzinfo=UTC)
    assert next_update_time(previous, same_second) == datetime(2026, 1, 1, 10, 0, 1, tzinfo=UTC)
    assert next_update_time(previous, later) == later
