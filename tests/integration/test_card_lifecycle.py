"""Support revokes, replaces and unlocks cards: both wallets follow (Apple token and links,
Google object state through the fake Wallet API), the CRM is told, the member gets new links."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from gateway.models import AuditEvent, Card, OutboxEvent
from gateway.models.base import utcnow
from gateway.models.crm_builtin import CrmCardEvent
from gateway.runtime import runtime
from gateway.services.issue.card_admin import (
    card_by_number,
    replace_card,
    revoke_card,
    unlock_card,
)
from gateway.services.keep_live.outbox import deliver_pending
from tests.factories import enroll_member
from tests.fakes.google_wallet_server import FakeGoogleWallet, keep_google_auth_local
from tests.fakes.smtp_server import FakeSmtpServer
from tests.integration.conftest import new_till
from tests.member_helpers import (
    apple_copy,
    apple_scan,
    google_object_id,
    insert_google_object,
    wired_app,
)

APPLE_WS = "/wallet/apple/v1"


@pytest.fixture
def wallet(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGoogleWallet]:
    keep_google_auth_local(monkeypatch)
    with FakeGoogleWallet() as fake:
        yield fake


@pytest.fixture
def smtp() -> Iterator[FakeSmtpServer]:
    with FakeSmtpServer() as server:
        yield server


def _fetch(app, pass_json):
    pass_type = runtime(app).credentials.apple_signer.pass_type_id
    return app.test_client().get(
        f"{APPLE_WS}/passes/{pass_type}/{pass_json['serialNumber']}",
        headers={"Authorization": f"ApplePass {pass_json['authenticationToken']}"},
    )


def _revoke(app, number: str) -> bool:
    rt = runtime(app)
    with rt.sessions() as session:
        return revoke_card(session, rt, card_by_number(session, number, "demo"), "operator:1")


def _replace(app, number: str):
    rt = runtime(app)
    with rt.sessions() as session:
        return replace_card(session, rt, card_by_number(session, number, "demo"), "operator:1")


def _rows(app, model, *where):
    with runtime(app).sessions() as session:
        return list(session.scalars(select(model).where(*where).order_by(model.id)))


def test_revoking_a_revoked_card_changes_nothing(app):
    member = enroll_member(app, balance=500)

    assert _revoke(app, member.card_number) is True
    assert _revoke(app, member.card_number) is False

    (audit,) = _rows(app, AuditEvent, AuditEvent.action == "card.revoked")
    assert audit.actor == "operator:1" and audit.subject == f"card:{member.card_number}"
    assert audit.details["before"] == {"status": "active"}
    assert audit.details["after"] == {"status": "revoked"}
    (event,) = _rows(app, OutboxEvent, OutboxEvent.kind == "card.revoked")
    assert event.payload["card_number"] == member.card_number
    deliver_pending(runtime(app))
    told = _rows(app, CrmCardEvent, CrmCardEvent.kind == "card.revoked")
    assert [row.payload["card_number"] for row in told] == [member.card_number]


def test_revoke_sets_the_google_object_inactive(make_app, wallet, smtp, tmp_path):
    app = wired_app(make_app, wallet, smtp, tmp_path)
    member = enroll_member(app)
    object_id = insert_google_object(app, member.card_number)
    assert wallet.objects[object_id]["state"] == "ACTIVE"

    _revoke(app, member.card_number)
    deliver_pending(runtime(app))

    assert wallet.objects[object_id]["state"] == "INACTIVE"
    patches = [
        r for r in wallet.requests if r.method == "PATCH" and r.body == {"state": "INACTIVE"}
    ]
    assert len(patches) == 1 and patches[0].path.endswith(object_id)
    till = new_till(app)
    refused = till.identify(apple_scan(app, member.card_number))
    assert refused.status_code == 410 and refused.json["error"]["code"] == "card_revoked"


def test_the_old_pass_of_a_replaced_card_stops_everywhere(make_app, wallet, smtp, tmp_path):
    app = wired_app(make_app, wallet, smtp, tmp_path)
    member = enroll_member(app, balance=800)
    old_object = insert_google_object(app, member.card_number)
    old_pass, old_link = apple_copy(app, member.card_number)
    old_scan = old_pass["barcodes"][0]["message"]
    till = new_till(app)

    links = _replace(app, member.card_number)
    deliver_pending(runtime(app))

    # The old Apple copy: its web-service token and its download link are refused.
    assert _fetch(app, old_pass).status_code == 401
    assert app.test_client().get(old_link).status_code == 404
    # Its code: the scan carries only the number (kept) and a code of the old secret, which the
    # till recognises among the card's retired secrets: an old copy, not a wrong code.
    refused = till.identify(old_scan)
    assert refused.status_code == 410 and refused.json["error"]["code"] == "card_revoked"
    # The old Google object is switched off; the new one is a different, active object.
    new_object = google_object_id(app, member.card_number)
    assert new_object != old_object
    assert wallet.objects[old_object]["state"] == "INACTIVE"
    assert wallet.objects[new_object]["state"] == "ACTIVE"
    # The member's verified e-mail got the new links, and they work.
    (mail,) = [m for m in smtp.messages if "new card" in str(m["Subject"])]
    body = mail.get_payload(decode=True).decode()
    assert links.pkpass_url in body
    save_jwt = re.search(r"https://pay\.google\.com/gp/v/save/([\w-]+\.([\w-]+)\.[\w-]+)", body)
    assert save_jwt is not None
    claims = base64.urlsafe_b64decode(save_jwt.group(2) + "==").decode()
    assert new_object in claims and old_object not in claims
    new_path = re.sub(r"^https?://[^/]+", "", links.pkpass_url)
    assert app.test_client().get(new_path).status_code == 200
    # The new Apple pass has a serial of its own: Wallet adds it as a new pass.
    new_pass, _ = apple_copy(app, member.card_number)
    assert new_pass["serialNumber"] != old_pass["serialNumber"]
    assert _fetch(app, new_pass).status_code == 200
    # Same card number and balance; the new pass's code opens a checkout.
    answer = till.identify(apple_scan(app, member.card_number))
    assert answer.status_code == 200, answer.json
    assert answer.json["card"]["number"] == member.card_number
    assert answer.json["balance"]["points"] == 800


def test_only_the_live_link_is_mailed(make_app, wallet, smtp, tmp_path):
    app = wired_app(make_app, wallet, smtp, tmp_path)
    member = enroll_member(app)
    first = _replace(app, member.card_number)
    # Replaced again before the worker ran: the first link is dead and must not be sent.
    second = _replace(app, member.card_number)
    deliver_pending(runtime(app))
    mails = [m for m in smtp.messages if "new card" in str(m["Subject"])]
    assert len(mails) == 1
    body = mails[0].get_payload(decode=True).decode()
    assert second.pkpass_url in body and first.pkpass_url not in body


def test_replacing_a_revoked_card_makes_it_active_with_new_codes(app):
    member = enroll_member(app, balance=300)
    till = new_till(app)
    _revoke(app, member.card_number)

    _replace(app, member.card_number)

    (card,) = _rows(app, Card)
    assert card.status == "active"
    assert till.identify(apple_scan(app, member.card_number)).status_code == 200
    (audit,) = _rows(app, AuditEvent, AuditEvent.action == "card.replaced")
    assert audit.details["before"] == {"status": "revoked"}
    assert audit.details["links_sent_to"] == "email"


def test_unlock_lifts_a_live_lock_once(app):
    member = enroll_member(app)
    till = new_till(app)
    rt = runtime(app)
    with rt.sessions() as session:
        card = card_by_number(session, member.card_number, "demo")
        card.locked_until = utcnow() + timedelta(minutes=10)
        session.commit()
    locked = till.identify(apple_scan(app, member.card_number))
    assert locked.json["error"]["code"] == "card_locked"

    with rt.sessions() as session:
        assert unlock_card(session, card_by_number(session, member.card_number, "demo"), "op")
    with rt.sessions() as session:
        assert not unlock_card(session, card_by_number(session, member.card_number, "demo"), "op")

    assert till.identify(apple_scan(app, member.card_number)).status_code == 200
    (audit,) = _rows(app, AuditEvent, AuditEvent.action == "card.unlocked")
    assert audit.actor == "op" and audit.details["after"] == {"locked_until": None}
