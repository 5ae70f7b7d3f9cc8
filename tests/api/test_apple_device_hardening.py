"""Apple web service: a pass cannot take over another device's push token; logs are escaped."""

from __future__ import annotations

import logging

from sqlalchemy import select

from gateway.models import AppleDevice, WalletPass
from gateway.runtime import runtime
from tests.factories import enroll_member

BASE = "/wallet/apple/v1"


def _apple_passes(app):
    """(serial, auth header) of every Apple pass."""
    rt = runtime(app)
    with rt.sessions() as session:
        passes = session.scalars(select(WalletPass).where(WalletPass.wallet == "apple")).all()
        return [
            (
                p.serial,
                {
                    "Authorization": "ApplePass "
                    + rt.secret_box.open(p.auth_token, f"pass:{p.serial}:apple-auth").decode()
                },
            )
            for p in passes
        ]


def _register(client, device, pass_type, serial, auth, token):
    return client.post(
        f"{BASE}/devices/{device}/registrations/{pass_type}/{serial}",
        json={"pushToken": token},
        headers=auth,
    )


def _push_token(app, device):
    with runtime(app).sessions() as session:
        return session.scalars(
            select(AppleDevice.push_token).where(AppleDevice.device_library_id == device)
        ).one()


def test_another_pass_cannot_overwrite_a_devices_push_token(app, client):
    enroll_member(app, balance=1)
    enroll_member(app, balance=1)
    (victim_serial, victim_auth), (own_serial, own_auth) = _apple_passes(app)
    pass_type = runtime(app).credentials.apple_signer.pass_type_id
    victim = ("victim", pass_type, victim_serial, victim_auth)
    assert _register(client, *victim, "t-v").status_code == 201
    taken = _register(client, "victim", pass_type, own_serial, own_auth, "t-attacker")
    assert taken.status_code == 409
    assert taken.json["error"]["code"] == "device_conflict"
    assert _push_token(app, "victim") == "t-v"
    # The device itself may still renew its token through a pass it holds, and add passes.
    assert _register(client, *victim, "t-v2").status_code == 200
    assert _register(client, "victim", pass_type, own_serial, own_auth, "t-v2").status_code == 201
    assert _push_token(app, "victim") == "t-v2"


def test_device_logs_cannot_forge_log_lines(client, caplog):
    with caplog.at_level(logging.WARNING):
        body = {"logs": ["bad\r\nERROR forged line\x1b[31m", "ok"]}
        assert client.post(f"{BASE}/log", json=body).status_code == 200
    messages = [r.getMessage() for r in caplog.records if "device log" in r.getMessage()]
    assert len(messages) == 2
    for message in messages:
        assert not any(ch in message for ch in "\r\n\x1b")
    assert "bad\\r\\nERROR forged line\\x1b[31m" in messages[0]
