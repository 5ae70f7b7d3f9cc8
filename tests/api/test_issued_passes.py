"""What a verified enrollment hands out: a signed .pkpass and a Google save link that verify."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import subprocess
import time
import zipfile
from pathlib import Path

import pyotp
from google.auth import crypt
from sqlalchemy import select

from gateway.models import OutboxEvent, WalletPass
from gateway.pos.terminals import create_store, create_terminal
from gateway.runtime import runtime
from gateway.services.keep_live.outbox import deliver_pending
from passes.codes import format_scan, hotp_code, match_totp, parse_scan
from tests.api.enrollment_helpers import enroll
from tests.factories import demo_program
from tests.fakes.google_wallet_server import FakeGoogleWallet, keep_google_auth_local


def _path(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)


def _claims(token: str) -> tuple[dict, dict]:
    header_b64, payload_b64, _ = token.split(".")
    pad = lambda s: s + "=" * (-len(s) % 4)  # noqa: E731
    return (
        json.loads(base64.urlsafe_b64decode(pad(header_b64))),
        json.loads(base64.urlsafe_b64decode(pad(payload_b64))),
    )


def test_pkpass_download_is_signed_and_verifies_with_openssl(
    make_app, smtp, instance_dir, tmp_path
):
    app = make_app(NOTIFIER="smtp", SMTP_HOST=smtp.host, SMTP_PORT=smtp.port)
    demo_program(app)
    client = app.test_client()
    answer = enroll(client, smtp, "ana@example.com")

    response = client.get(_path(answer["apple"]["pkpass_url"]))
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.apple.pkpass"
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    files = {name: archive.read(name) for name in archive.namelist()}
    manifest = json.loads(files["manifest.json"])
    for name, digest in manifest.items():
        assert hashlib.sha1(files[name]).hexdigest() == digest  # noqa: S324 (Apple's format)
    assert {"icon.png", "icon@2x.png", "icon@3x.png", "logo@3x.png", "strip@3x.png"} <= set(files)
    for name in ("signature", "manifest.json"):
        (tmp_path / name).write_bytes(files[name])
    verified = subprocess.run(
        [
            "openssl",
            "smime",
            "-verify",
            "-binary",
            "-inform",
            "DER",
            "-in",
            str(tmp_path / "signature"),
            "-content",
            str(tmp_path / "manifest.json"),
            "-CAfile",
            str(instance_dir / "certs" / "wwdr.pem"),
            "-purpose",
            "any",
        ],
        capture_output=True,
        check=False,
    )
    assert verified.returncode == 0, verified.stderr

    pass_json = json.loads(files["pass.json"])
    number = answer["member"]["card_number"]
    with runtime(app).sessions() as session:
        apple = session.scalars(select(WalletPass).where(WalletPass.wallet == "apple")).one()
        secret = runtime(app).secret_box.open(apple.code_secret, f"pass:{apple.serial}:code")
    assert pass_json["serialNumber"] == apple.serial
    assert pass_json["barcodes"][0]["message"] == format_scan(number, hotp_code(secret, 0))
    assert pass_json["barcodes"][0]["altText"] == number
    assert len(pass_json["authenticationToken"]) >= 16
    assert pass_json["webServiceURL"] == "https://gateway.test/wallet/apple/"


def test_unknown_download_token_is_404(client):
    response = client.get("/api/v1/passes/apple/not-a-token.pkpass")
    assert response.status_code == 404 and response.json["error"]["code"] == "not_found"


def test_google_save_link_jwt_verifies_and_carries_no_secret(make_app, smtp, instance_dir):
    app = make_app(NOTIFIER="smtp", SMTP_HOST=smtp.host, SMTP_PORT=smtp.port)
    demo_program(app)
    answer = enroll(app.test_client(), smtp, "ana@example.com")

    url = answer["google"]["save_url"]
    assert url.startswith("https://pay.google.com/gp/v/save/") and len(url) < 1800
    token = url.rsplit("/", 1)[1]
    header, claims = _claims(token)
    cert = (instance_dir / "certs" / "google-service-account-cert.pem").read_bytes()
    signed, signature = token.rsplit(".", 1)
    assert crypt.verify_signature(
        signed.encode(), base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)), [cert]
    )
    assert header["alg"] == "RS256"
    assert claims["aud"] == "google" and claims["typ"] == "savetowallet"
    assert claims["origins"] == ["https://gateway.test"]
    (only,) = claims["payload"]["loyaltyObjects"]
    assert set(only) == {"id", "classId"}
    with runtime(app).sessions() as session:
        google = session.scalars(select(WalletPass).where(WalletPass.wallet == "google")).one()
        secret = runtime(app).secret_box.open(google.code_secret, f"pass:{google.serial}:code")
    assert only["id"] == google.google_object_id
    assert (
        secret.hex() not in token
        and secret.hex() not in base64.urlsafe_b64decode(token.split(".")[1] + "==").decode()
    )
    # No Google API configured (the embedded default): the object waits in the outbox.
    assert answer["google"]["object_status"] == "queued"
    with runtime(app).sessions() as session:
        pending = session.scalars(
            select(OutboxEvent).where(OutboxEvent.kind == "google.object.upsert")
        ).all()
    assert len(pending) == 1 and pending[0].delivered_at is None


def _google_app(make_app, smtp, wallet: FakeGoogleWallet, tmp_path: Path):
    """A gateway talking to the fake Wallet API with a service account the fake trusts."""
    account_file = tmp_path / "service-account.json"
    account_file.write_text(json.dumps(wallet.service_account()))
    app = make_app(
        NOTIFIER="smtp",
        SMTP_HOST=smtp.host,
        SMTP_PORT=smtp.port,
        GOOGLE_API_BASE_URL=wallet.base_url,
        GOOGLE_SERVICE_ACCOUNT=str(account_file),
    )
    demo_program(app)
    return app


def test_google_object_is_inserted_with_a_rotating_totp_barcode(
    make_app, smtp, tmp_path: Path, monkeypatch
):
    keep_google_auth_local(monkeypatch)
    with FakeGoogleWallet() as wallet:
        app = _google_app(make_app, smtp, wallet, tmp_path)
        answer = enroll(app.test_client(), smtp, "ben@example.com")
        # The customer was not kept waiting on Google: the object is queued for the worker.
        assert answer["google"]["object_status"] == "queued" and not wallet.objects
        deliver_pending(runtime(app))

        assert len(wallet.classes) == 1
        (obj,) = wallet.objects.values()
    barcode = obj["rotatingBarcode"]
    assert barcode["totpDetails"]["algorithm"] == "TOTP_SHA1"
    assert obj["passConstraints"]["screenshotEligibility"] == "INELIGIBLE"
    assert obj["accountId"] == answer["member"]["card_number"]
    assert obj["loyaltyPoints"]["balance"]["int"] == 350
    # The gateway accepts the code a phone renders from the hex key it was given.
    key = bytes.fromhex(barcode["totpDetails"]["parameters"][0]["key"])
    phone_code = pyotp.TOTP(base64.b32encode(key).decode(), digits=8).now()
    scan = barcode["valuePattern"].replace("{totp_value_0}", phone_code)
    parsed = parse_scan(scan)
    with runtime(app).sessions() as session:
        google = session.scalars(select(WalletPass).where(WalletPass.wallet == "google")).one()
        secret = runtime(app).secret_box.open(google.code_secret, f"pass:{google.serial}:code")
        assert google.google_state == "inserted"
    assert match_totp(secret, parsed.code, int(time.time())) is not None


def test_queued_google_objects_are_delivered_when_the_api_comes_back(
    make_app, smtp, tmp_path: Path, monkeypatch
):
    keep_google_auth_local(monkeypatch)
    with FakeGoogleWallet() as wallet:
        app = _google_app(make_app, smtp, wallet, tmp_path)
        wallet.fail_next(10, status=503)
        answer = enroll(app.test_client(), smtp, "chen@example.com")
        assert answer["google"]["object_status"] == "queued"
        assert wallet.objects == {}

        wallet.reset()
        rt = runtime(app)
        with rt.sessions() as session:
            for event in session.scalars(select(OutboxEvent)):
                event.next_attempt_at = event.created_at
            session.commit()
        deliver_pending(rt)
        assert len(wallet.objects) == 1


def test_balance_changes_reach_the_inserted_google_object(
    make_app, smtp, tmp_path: Path, monkeypatch
):
    keep_google_auth_local(monkeypatch)
    with FakeGoogleWallet() as wallet:
        app = _google_app(make_app, smtp, wallet, tmp_path)
        answer = enroll(app.test_client(), smtp, "ben@example.com")
        deliver_pending(runtime(app))
        (object_id,) = wallet.objects
        with runtime(app).sessions() as session:
            create_store(session, "MAIN", "Main", "demo")
            session.commit()
            _, key = create_terminal(session, "MAIN")
            session.commit()
        accrual = app.test_client().post(
            "/pos/v1/accruals",
            json={
                "card_number": answer["member"]["card_number"],
                "order": {"id": "A-1", "total": "40.00", "currency": "EUR"},
            },
            headers={"Authorization": f"Bearer {key}", "Idempotency-Key": "k-1"},
        )
        assert accrual.status_code == 201, accrual.json
        new_balance = accrual.json["balance"]["points"]

        assert deliver_pending(runtime(app)) >= 1
        patches = [r for r in wallet.requests if r.method == "PATCH"]
        shown = wallet.objects[object_id]["loyaltyPoints"]["balance"]["int"]
    assert new_balance > 350
    assert shown == new_balance
    assert len(patches) == 1 and "rotatingBarcode" not in patches[0].body
