"""APNs pushes for changed Apple passes, against a local HTTP/2 server."""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from google.auth import crypt
from sqlalchemy import select

from gateway.devcerts import dev_cert_paths
from gateway.models import AppleDevice, AppleRegistration, OutboxEvent, WalletPass
from gateway.runtime import runtime
from gateway.services.keep_live.outbox import deliver_pending
from passes.apple.apns import ApnsClient, ApnsProviderToken
from tests.factories import enroll_member
from tests.fakes.apns_server import FakeApns
from tests.fakes.tls_certs import localhost_server_certificate
from tests.integration.conftest import new_till


def _p8() -> tuple[bytes, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return pem, key


def _register(app, client, serial, device, push_token):
    rt = runtime(app)
    with rt.sessions() as session:
        wallet_pass = session.scalars(select(WalletPass).where(WalletPass.serial == serial)).one()
        token = rt.secret_box.open(wallet_pass.auth_token, f"pass:{serial}:apple-auth").decode()
    pass_type = rt.credentials.apple_signer.pass_type_id
    response = client.post(
        f"/wallet/apple/v1/devices/{device}/registrations/{pass_type}/{serial}",
        json={"pushToken": push_token},
        headers={"Authorization": f"ApplePass {token}"},
    )
    assert response.status_code == 201


def _apple_serial(app, card_number):
    with runtime(app).sessions() as session:
        return session.scalar(
            select(WalletPass.serial)
            .where(WalletPass.wallet == "apple")
            .order_by(WalletPass.id.desc())
        )


@pytest.fixture
def apns():
    with FakeApns() as server:
        yield server


def test_a_used_code_pushes_every_device_and_drops_dead_tokens(make_app, apns, tmp_path):
    p8, key = _p8()
    key_file = tmp_path / "AuthKey_ABC123.p8"
    key_file.write_bytes(p8)
    app = make_app(
        APNS_BASE_URL=apns.base_url, APNS_AUTH_KEY_FILE=str(key_file), APNS_KEY_ID="ABC123"
    )
    member = enroll_member(app, balance=800)
    serial = _apple_serial(app, member.card_number)
    client = app.test_client()
    for device, token in (("phone", "tok-phone"), ("watch", "tok-watch"), ("old", "tok-old")):
        _register(app, client, serial, device, token)
    apns.gone.add("tok-old")

    till = new_till(app)
    assert till.identify(member.apple_scan()).status_code == 200
    with runtime(app).sessions() as session:
        assert session.scalars(select(OutboxEvent.kind)).all() == ["pass.changed"]
    assert deliver_pending(runtime(app)) == 1

    assert sorted(apns.tokens_pushed()) == ["tok-old", "tok-phone", "tok-watch"]
    assert {push.connection for push in apns.pushes} == {1}  # multiplexed on one connection
    for push in apns.pushes:
        assert push.headers["apns-topic"] == runtime(app).credentials.apple_signer.pass_type_id
        assert push.body == b"{}"
        scheme, token = push.headers["authorization"].split(" ")
        assert scheme == "bearer"
        header_b64, claims_b64, signature_b64 = token.split(".")
        pad = lambda s: s + "=" * (-len(s) % 4)  # noqa: E731
        header = json.loads(base64.urlsafe_b64decode(pad(header_b64)))
        claims = json.loads(base64.urlsafe_b64decode(pad(claims_b64)))
        assert header["alg"] == "ES256" and header["kid"] == "ABC123"
        assert claims["iss"] == runtime(app).credentials.apple_signer.team_id
        public_pem = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        assert crypt.ES256Verifier.from_string(public_pem).verify(
            f"{header_b64}.{claims_b64}".encode(), base64.urlsafe_b64decode(pad(signature_b64))
        )
    assert len({push.headers["authorization"] for push in apns.pushes}) == 1  # token reused
    with runtime(app).sessions() as session:
        devices = session.scalars(select(AppleDevice.device_library_id).order_by(AppleDevice.id))
        assert list(devices) == ["phone", "watch"]
        assert len(session.scalars(select(AppleRegistration)).all()) == 2


def test_certificate_auth_pushes_over_tls_with_the_pass_certificate(
    make_app, instance_dir, tmp_path
):
    # No .p8 key: the gateway authenticates to APNs with the pass type certificate over TLS,
    # and checks the server against APNS_CA_FILE; the fake asks for a client certificate
    # issued by the (dev) WWDR authority and speaks HTTP/2 only if ALPN chose h2.
    server_cert = localhost_server_certificate(tmp_path)
    wwdr = dev_cert_paths(instance_dir / "certs").wwdr_cert
    tls = (str(server_cert.cert_file), str(server_cert.key_file), str(wwdr))
    with FakeApns(tls=tls) as apns:
        app = make_app(APNS_BASE_URL=apns.base_url, APNS_CA_FILE=str(server_cert.ca_file))
        member = enroll_member(app, balance=100)
        _register(app, app.test_client(), _apple_serial(app, member.card_number), "p", "tok-1")
        assert new_till(app).identify(member.apple_scan()).status_code == 200
        assert deliver_pending(runtime(app)) == 1

        pass_type = runtime(app).credentials.apple_signer.pass_type_id
        assert apns.tokens_pushed() == ["tok-1"]
        push = apns.pushes[0]
        assert "authorization" not in push.headers  # the certificate is the credential
        assert push.headers["apns-topic"] == pass_type
        assert apns.client_subjects[push.connection]["userId"] == pass_type


def test_certificate_auth_refuses_a_server_it_cannot_verify(make_app, instance_dir, tmp_path):
    server_cert = localhost_server_certificate(tmp_path)
    wwdr = dev_cert_paths(instance_dir / "certs").wwdr_cert
    tls = (str(server_cert.cert_file), str(server_cert.key_file), str(wwdr))
    with FakeApns(tls=tls) as apns:
        app = make_app(APNS_BASE_URL=apns.base_url)  # the fake's CA is not trusted
        member = enroll_member(app, balance=100)
        _register(app, app.test_client(), _apple_serial(app, member.card_number), "p", "tok-1")
        assert new_till(app).identify(member.apple_scan()).status_code == 200
        assert deliver_pending(runtime(app)) == 0
        assert apns.pushes == []
        with runtime(app).sessions() as session:  # kept for a retry, not lost
            assert session.scalars(select(OutboxEvent.kind)).all() == ["pass.changed"]


def test_an_unreadable_apns_key_fails_the_pushes_not_the_start_up(
    make_app, apns, tmp_path, caplog
):
    # As when the client was built on the first push: the app starts, the pushes fail and stay
    # in the outbox; now the problem is also logged at start-up.
    missing = tmp_path / "AuthKey_MISSING.p8"
    app = make_app(APNS_BASE_URL=apns.base_url, APNS_AUTH_KEY_FILE=str(missing), APNS_KEY_ID="K")
    assert "GATEWAY_APNS_" in caplog.text and str(missing) in caplog.text
    member = enroll_member(app, balance=100)
    _register(app, app.test_client(), _apple_serial(app, member.card_number), "p", "tok-1")
    assert new_till(app).identify(member.apple_scan()).status_code == 200
    assert deliver_pending(runtime(app)) == 0
    assert apns.pushes == []
    with runtime(app).sessions() as session:
        (event,) = session.scalars(select(OutboxEvent)).all()
        assert event.delivered_at is None and str(missing) in event.last_error


def test_failed_pushes_stay_in_the_outbox_and_are_retried(make_app, apns, tmp_path):
    p8, _ = _p8()
    key_file = tmp_path / "key.p8"
    key_file.write_bytes(p8)
    app = make_app(APNS_BASE_URL=apns.base_url, APNS_AUTH_KEY_FILE=str(key_file), APNS_KEY_ID="K")
    member = enroll_member(app, balance=800)
    serial = _apple_serial(app, member.card_number)
    _register(app, app.test_client(), serial, "phone", "tok-phone")
    apns.failing.add("tok-phone")

    till = new_till(app)
    checkout = till.checkout(member.apple_scan())
    assert till.redeem(checkout, points=100).status_code == 201
    rt = runtime(app)
    deliver_pending(rt)
    with rt.sessions() as session:
        pending = session.scalars(
            select(OutboxEvent).where(OutboxEvent.delivered_at.is_(None))
        ).all()
        assert {event.kind for event in pending} == {"pass.changed", "balance.changed"}
        assert all(event.attempts == 1 and "apns" in event.last_error for event in pending)
        for event in pending:
            event.next_attempt_at = event.created_at
        session.commit()
    apns.failing.clear()
    assert deliver_pending(rt) == 2


def test_provider_token_is_reused_for_fifty_minutes_then_renewed():
    p8, _ = _p8()
    now = [1_000_000.0]
    token = ApnsProviderToken(p8, "KID", "TEAM", clock=lambda: now[0])
    first = token.header()
    now[0] += 49 * 60
    assert token.header() == first
    now[0] += 2 * 60
    assert token.header() != first


def test_client_needs_an_auth_method():
    with pytest.raises(ValueError, match="provider token or a client certificate"):
        ApnsClient("pass.example")


def test_unreachable_apns_is_a_failed_result_not_an_exception():
    p8, _ = _p8()
    client = ApnsClient(
        "pass.example",
        base_url="http://127.0.0.1:9",
        provider_token=ApnsProviderToken(p8, "K", "T"),
    )
    (result,) = client.push(["tok"])
    client.close()
    assert result.status == 0 and not result.delivered and not result.token_is_dead
