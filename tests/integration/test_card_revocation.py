"""Operators revoke or replace a card: the old copies, codes, tokens and links stop; audited."""

from __future__ import annotations

import io
import json
import re
import zipfile

from sqlalchemy import select

from gateway.models import AuditEvent, Card, OutboxEvent, WalletPass
from gateway.runtime import runtime
from gateway.services.issue.card_admin import card_by_number, replace_card, revoke_card
from gateway.services.issue.card_credentials import issue_download_link
from tests.factories import enroll_member
from tests.integration.conftest import new_till

BASE = "/wallet/apple/v1"


def _apple_copy(app) -> tuple[dict, str]:
    """The pass.json a phone holds now, and a fresh download path for it."""
    rt = runtime(app)
    with rt.sessions() as session:
        apple = session.scalars(select(WalletPass).where(WalletPass.wallet == "apple")).one()
        token = issue_download_link(rt, apple)
        session.commit()
    path = f"/api/v1/passes/apple/{token}.pkpass"
    data = app.test_client().get(path).data
    return json.loads(zipfile.ZipFile(io.BytesIO(data)).read("pass.json")), path


def _fetch(app, pass_json):
    pass_type = runtime(app).credentials.apple_signer.pass_type_id
    return app.test_client().get(
        f"{BASE}/passes/{pass_type}/{pass_json['serialNumber']}",
        headers={"Authorization": f"ApplePass {pass_json['authenticationToken']}"},
    )


def test_revoke_stops_the_card_codes_token_and_link(app):
    member = enroll_member(app, balance=500)
    copy, link = _apple_copy(app)
    till = new_till(app)
    scan = copy["barcodes"][0]["message"]

    result = app.test_cli_runner().invoke(
        args=["cards", "revoke", member.card_number, "--program", "demo"]
    )

    assert result.exit_code == 0, result.output
    assert "revoked" in result.output
    refused = till.identify(scan)
    assert refused.status_code == 410 and refused.json["error"]["code"] == "card_revoked"
    assert _fetch(app, copy).status_code == 401
    assert app.test_client().get(link).status_code == 404
    with runtime(app).sessions() as session:
        card = session.scalars(select(Card)).one()
        audits = session.scalars(select(AuditEvent.action)).all()
    assert card.status == "revoked" and "card.revoked" in audits
    again = app.test_cli_runner().invoke(
        args=["cards", "revoke", member.card_number, "--program", "demo"]
    )
    assert again.exit_code == 0 and "already revoked" in again.output


def test_replace_hands_out_new_credentials_and_refuses_the_old(app):
    member = enroll_member(app, balance=500)
    old, old_link = _apple_copy(app)
    till = new_till(app)

    result = app.test_cli_runner().invoke(
        args=["cards", "replace", member.card_number, "--program", "demo"]
    )

    assert result.exit_code == 0, result.output
    new_url = re.search(r"Apple Wallet: (\S+)", result.output)
    assert new_url is not None and "Google Wallet: https://pay.google.com/" in result.output
    new_path = re.sub(r"^https?://[^/]+", "", new_url.group(1))
    response = app.test_client().get(new_path)
    assert response.status_code == 200
    new = json.loads(zipfile.ZipFile(io.BytesIO(response.data)).read("pass.json"))
    assert _fetch(app, old).status_code == 401
    assert _fetch(app, new).status_code == 200
    assert app.test_client().get(old_link).status_code == 404
    assert till.identify(old["barcodes"][0]["message"]).status_code != 200
    assert till.identify(new["barcodes"][0]["message"]).status_code == 200
    with runtime(app).sessions() as session:
        audits = session.scalars(select(AuditEvent.action)).all()
        linked = session.scalars(select(OutboxEvent).where(OutboxEvent.kind == "card.linked")).all()
    assert "card.replaced" in audits
    # The CRM learns the new serials, never a download link.
    assert linked[-1].payload["replaced"] is True
    assert new_url.group(1) not in json.dumps(linked[-1].payload)


def test_a_revoked_card_is_active_again_after_replace(app):
    member = enroll_member(app)
    rt = runtime(app)
    with rt.sessions() as session:
        assert revoke_card(session, rt, card_by_number(session, member.card_number, "demo"), "t")
        links = replace_card(session, rt, card_by_number(session, member.card_number, "demo"), "t")
        card = session.scalars(select(Card)).one()
        assert card.status == "active" and links.card_number == member.card_number


def test_unknown_card_is_a_clear_cli_error(app):
    enroll_member(app)
    result = app.test_cli_runner().invoke(
        args=["cards", "revoke", "7000000000000013", "--program", "demo"]
    )
    assert result.exit_code != 0 and "not found" in result.output.lower()
