"""Issue 8: a copied pass or an old link is not a permanent source of live codes; a verified
enrollment takes no more guesses; a pending enrollment is resent, not multiplied; verify never
waits on Google."""

from __future__ import annotations

import io
import json
import re
import zipfile

from sqlalchemy import select

from gateway.models import Enrollment, WalletPass
from gateway.runtime import runtime
from tests.api.enrollment_helpers import enroll, start
from tests.factories import demo_program
from tests.fakes.google_wallet_server import FakeGoogleWallet, keep_google_auth_local
from tests.integration.conftest import new_till

BASE = "/wallet/apple/v1"




def _path(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)


def _pass_json(client, answer) -> dict:
    response = client.get(_path(answer["apple"]["pkpass_url"]))
    assert response.status_code == 200, response.json
    return json.loads(zipfile.ZipFile(io.BytesIO(response.data)).read("pass.json"))


def _fetch(client, app, pass_json):
    pass_type = runtime(app).credentials.apple_signer.pass_type_id
    return client.get(
        f"{BASE}/passes/{pass_type}/{pass_json['serialNumber']}",
        headers={"Authorization": f"ApplePass {pass_json['authenticationToken']}"},
    )


def _register(client, app, pass_json, device="dev-1"):
    pass_type = runtime(app).credentials.apple_signer.pass_type_id
    return client.post(
        f"{BASE}/devices/{device}/registrations/{pass_type}/{pass_json['serialNumber']}",
        json={"pushToken": "push-1"},
        headers={"Authorization": f"ApplePass {pass_json['authenticationToken']}"},
    )


def _verify(client, enrollment_id, code):
    return client.post(f"/api/v1/enrollments/{enrollment_id}/verify", json={"code": code})


# --- item 1: re-enrollment rotates every credential of the old copy --------------------------


def test_re_enrollment_refuses_the_old_copy_token_code_and_link(mail_app, smtp):
    client = mail_app.test_client()
    first = enroll(client, smtp, "ana@example.com")
    old = _pass_json(client, first)
    assert _fetch(client, mail_app, old).status_code == 200

    second = enroll(client, smtp, "ana@example.com")

    # The old copy's web-service token is refused; the new copy's works.
    assert _fetch(client, mail_app, old).status_code == 401
    new = _pass_json(client, second)
    assert new["serialNumber"] == old["serialNumber"]
    assert new["authenticationToken"] != old["authenticationToken"]
    assert _fetch(client, mail_app, new).status_code == 200
    # The old download link is gone.
    assert client.get(_path(first["apple"]["pkpass_url"])).status_code == 404
    # The old copy's code is refused at the till; the new one is accepted.
    till = new_till(mail_app)
    old_scan, new_scan = old["barcodes"][0]["message"], new["barcodes"][0]["message"]
    assert old_scan != new_scan
    refused = till.identify(old_scan)
    assert refused.status_code == 410 and refused.json["error"]["code"] == "card_revoked"
    assert till.identify(new_scan).status_code == 200
    # The Google object is a new one too (a saved object is shared by whoever saved it).
    assert first["google"]["save_url"] != second["google"]["save_url"]


def test_download_link_expires_after_its_ttl(make_app, smtp):
    app = make_app(
        NOTIFIER="smtp", SMTP_HOST=smtp.host, SMTP_PORT=smtp.port, PASS_LINK_TTL_SECONDS=0
    )
    demo_program(app)
    client = app.test_client()
    answer = enroll(client, smtp, "ben@example.com")
    response = client.get(_path(answer["apple"]["pkpass_url"]))
    assert response.status_code == 410
    assert response.json["error"]["code"] == "link_expired"


def test_download_link_stops_once_the_pass_is_installed(mail_app, smtp):
    client = mail_app.test_client()
    answer = enroll(client, smtp, "ben@example.com")
    pass_json = _pass_json(client, answer)
    assert client.get(_path(answer["apple"]["pkpass_url"])).status_code == 200

    assert _register(client, mail_app, pass_json).status_code == 201

    assert client.get(_path(answer["apple"]["pkpass_url"])).status_code == 404
    # The installed pass itself keeps working through the web service.
    assert _fetch(client, mail_app, pass_json).status_code == 200


# --- item 3: a verified enrollment takes no more codes ---------------------------------------


def test_a_verified_enrollment_answers_410_to_every_further_verify(mail_app, smtp):
    client = mail_app.test_client()
    enrollment_id = start(client, email="ben@example.com")
    code = smtp.last_code_for("ben@example.com")
    assert _verify(client, enrollment_id, code).status_code == 200

    for attempt in (code, "000000", code):
        again = _verify(client, enrollment_id, attempt)
        assert again.status_code == 410
        assert again.json["error"]["code"] == "enrollment_used"
    with runtime(mail_app).sessions() as session:
        enrollment = session.get(Enrollment, enrollment_id)
        assert enrollment is not None and enrollment.attempts == 3


def test_a_verified_enrollment_past_its_ttl_hands_out_nothing(make_app, smtp):
    app = make_app(NOTIFIER="smtp", SMTP_HOST=smtp.host, SMTP_PORT=smtp.port)
    demo_program(app)
    client = app.test_client()
    enrollment_id = start(client, email="ben@example.com")
    code = smtp.last_code_for("ben@example.com")
    assert _verify(client, enrollment_id, code).status_code == 200
    with runtime(app).sessions() as session:
        enrollment = session.get(Enrollment, enrollment_id)
        assert enrollment is not None
        enrollment.expires_at = enrollment.created_at  # long past
        session.commit()
    assert _verify(client, enrollment_id, code).status_code == 410


# --- item 5: resend instead of new enrollments; never wait on Google ------------------------


def test_a_new_request_resends_the_pending_enrollment_keeping_its_attempts(mail_app, smtp):
    client = mail_app.test_client()
    first_id = start(client, email="ben@example.com")
    first_code = smtp.last_code_for("ben@example.com")
    wrong = f"{(int(first_code) + 1) % 10**6:06d}"
    assert _verify(client, first_id, wrong).json["error"]["attempts_left"] == 4

    second_id = start(client, email="ben@example.com")
    second_code = smtp.last_code_for("ben@example.com")

    assert second_id == first_id
    if second_code != first_code:  # a fresh code; the old one no longer works
        assert _verify(client, first_id, first_code).json["error"]["attempts_left"] == 3
    else:
        assert _verify(client, first_id, wrong).json["error"]["attempts_left"] == 3
    assert _verify(client, first_id, second_code).status_code == 200


def test_a_stranger_spending_the_limit_cannot_lock_the_owner_out(mail_app, smtp):
    client = mail_app.test_client()
    ids = {start(client, email="ben@example.com") for _ in range(12)}  # beyond every limit
    assert len(ids) == 1
    sent = [m for m in smtp.messages if m["To"] == "ben@example.com"]
    assert len(sent) == 5  # at most five codes per enrollment reach the mailbox
    # The owner finishes with the latest code they received.
    latest = smtp.last_code_for("ben@example.com")
    assert _verify(client, ids.pop(), latest).status_code == 200


def test_verify_does_not_wait_on_google_and_says_queued(make_app, smtp, tmp_path, monkeypatch):
    keep_google_auth_local(monkeypatch)
    with FakeGoogleWallet() as wallet:
        app = make_app(
            NOTIFIER="smtp",
            SMTP_HOST=smtp.host,
            SMTP_PORT=smtp.port,
            GOOGLE_API_BASE_URL=wallet.base_url,
        )
        demo_program(app)
        answer = enroll(app.test_client(), smtp, "ben@example.com")

        assert wallet.requests == []  # nothing was sent to Google in the customer's request
        assert answer["google"]["object_status"] == "queued"
        with runtime(app).sessions() as session:
            google = session.scalars(select(WalletPass).where(WalletPass.wallet == "google")).one()
            assert google.google_state == "queued"

