"""Google Wallet callbacks: verified chain, expiry, nonce dedupe, pass state and CRM event."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import select

from gateway.models import CrmCardEvent, OutboxEvent, WalletPass
from gateway.runtime import runtime
from gateway.services.issue.card_credentials import issue_download_link
from gateway.services.keep_live.outbox import deliver_pending
from tests.factories import demo_program, enroll_member
from tests.fakes.google_callback_signer import FakeGoogleCallbacks

URL = "/wallet/google/callback"


@pytest.fixture
def google():
    return FakeGoogleCallbacks()


@pytest.fixture
def setup(make_app, google, tmp_path):
    app = make_app(GOOGLE_CALLBACK_ROOT_KEYS=str(google.write_root_keys(tmp_path / "keys.json")))
    program = demo_program(app)
    enroll_member(app, balance=10)
    with runtime(app).sessions() as session:
        object_id = session.scalars(
            select(WalletPass.google_object_id).where(WalletPass.wallet == "google")
        ).one()
    ids = {
        "issuer_id": program.google_issuer_id,
        "class_id": program.google_class_id,
        "object_id": object_id,
    }
    return app, ids


def _state(app):
    with runtime(app).sessions() as session:
        return session.scalars(
            select(WalletPass.google_state).where(WalletPass.wallet == "google")
        ).one()


def test_save_then_delete_update_the_pass_and_tell_the_crm_once(setup, google):
    app, ids = setup
    client = app.test_client()
    save = google.body(**ids, event_type="save", nonce="n-1")
    assert client.post(URL, json=save).json == {"result": "saved"}
    assert _state(app) == "saved"
    assert client.post(URL, json=save).json == {"result": "duplicate"}  # Google retried

    assert client.post(URL, json=google.body(**ids, event_type="del")).json == {"result": "deleted"}
    assert _state(app) == "deleted"
    deliver_pending(runtime(app))
    with runtime(app).sessions() as session:
        kinds = session.scalars(select(OutboxEvent.kind).order_by(OutboxEvent.id)).all()
        crm = session.scalars(select(CrmCardEvent.kind).order_by(CrmCardEvent.id)).all()
    assert kinds == ["card.saved", "card.unlinked"]
    assert crm == ["card.saved", "card.unlinked"]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (
            {"root": ec.generate_private_key(ec.SECP256R1())},
            "intermediate key not signed by a root key",
        ),
        ({"message_ttl_ms": -1}, "message expired"),
        ({"key_ttl_ms": -1}, "intermediate key expired"),
        ({"issuer_id": "999"}, "message signature invalid"),
        ({"event_type": "bounce"}, "unknown eventType"),
    ],
)
def test_callbacks_that_do_not_verify_are_rejected(setup, google, change, reason):
    app, ids = setup
    response = app.test_client().post(URL, json=google.body(**{**ids, **change}))
    assert response.status_code == 400
    assert response.json["error"] == {"code": "callback_rejected", "message": reason}
    assert _state(app) == "queued"


def test_a_tampered_message_is_rejected(setup, google):
    app, ids = setup
    body = google.body(**ids)
    message = json.loads(body["signedMessage"])
    message["eventType"] = "del"
    body["signedMessage"] = json.dumps(message)
    response = app.test_client().post(URL, json=body)
    assert response.status_code == 400 and response.json["error"]["code"] == "callback_rejected"


def test_unknown_object_is_acknowledged_without_effect(setup, google):
    app, ids = setup
    body = google.body(**{**ids, "object_id": f"{ids['issuer_id']}.nobody"})
    assert app.test_client().post(URL, json=body).json == {"result": "unknown_object"}


def test_without_root_keys_callbacks_are_refused(client):
    response = client.post(URL, json={"protocolVersion": "ECv2SigningOnly"})
    assert response.status_code == 503
    assert response.json["error"]["code"] == "callbacks_not_configured"


def test_a_callback_signed_for_another_issuer_is_rejected(setup, google):
    # Google signs for any issuer: one signed for issuer 999 naming our object must not count.
    app, ids = setup
    for other in (
        {"issuer_id": "999", "class_id": "999.loyalty", "object_id": ids["object_id"]},
        {**ids, "class_id": f"{ids['issuer_id']}.other_class"},
    ):
        response = app.test_client().post(URL, json=google.body(**other))
        assert response.status_code == 400, response.json
        assert response.json["error"]["code"] == "callback_rejected"
    assert _state(app) != "saved"
    with runtime(app).sessions() as session:
        assert not session.scalars(
            select(OutboxEvent).where(OutboxEvent.kind == "card.saved")
        ).all()


def test_a_google_save_ends_the_cards_download_link(setup, google):
    app, ids = setup
    rt = runtime(app)
    with rt.sessions() as session:
        apple = session.scalars(select(WalletPass).where(WalletPass.wallet == "apple")).one()
        token = issue_download_link(rt, apple)
        session.commit()
    client = app.test_client()
    link = f"/api/v1/passes/apple/{token}.pkpass"
    assert client.get(link).status_code == 200

    assert client.post(URL, json=google.body(**ids, event_type="save")).json == {
        "result": "saved"
    }

    assert client.get(link).status_code == 404
