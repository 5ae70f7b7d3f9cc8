"""Consents can be read and marketing withdrawn through the signed link; the CRM is told."""

from __future__ import annotations

import hashlib
import re

from sqlalchemy import select

from gateway.models import CrmCardEvent, Member
from gateway.runtime import runtime
from gateway.services.keep_live.outbox import deliver_pending
from tests.api.enrollment_helpers import enroll
from tests.factories import demo_program


def test_marketing_consent_is_withdrawn_once_and_the_crm_told(make_app, smtp):
    app = make_app(NOTIFIER="smtp", SMTP_HOST=smtp.host, SMTP_PORT=smtp.port)
    demo_program(app)
    client = app.test_client()
    answer = enroll(client, smtp, "ana@example.com", consents={"terms": True, "marketing": True})
    path = re.sub(r"^https?://[^/]+", "", answer["consents_url"])

    before = client.get(path).json["consents"]
    assert before["marketing"]["granted"] is True and before["terms"]["granted"] is True
    assert before["marketing"]["text_version"] and before["marketing"]["channel"] == "api"

    after = client.post(f"{path}/withdraw", json={"kind": "marketing"})
    assert after.status_code == 200
    assert after.json["consents"]["marketing"]["granted"] is False
    assert after.json["consents"]["terms"]["granted"] is True
    again = client.post(f"{path}/withdraw", json={"kind": "marketing"})
    assert again.status_code == 200

    deliver_pending(runtime(app))
    with runtime(app).sessions() as session:
        kinds = session.scalars(select(CrmCardEvent.kind).order_by(CrmCardEvent.id)).all()
    assert kinds == ["card.linked", "consent.withdrawn"]

    terms = client.post(f"{path}/withdraw", json={"kind": "terms"})
    assert terms.status_code == 422 and terms.json["error"]["field"] == "kind"


def test_a_forged_consent_link_is_404(client):
    for path in ("/api/v1/consents/MQ.forged", "/api/v1/consents/garbage"):
        response = client.get(path)
        assert response.status_code == 404 and response.json["error"]["code"] == "not_found"
    response = client.post("/api/v1/consents/MQ.forged/withdraw", json={"kind": "marketing"})
    assert response.status_code == 404


def test_the_consent_link_is_random_and_a_new_enrollment_revokes_the_old(make_app, smtp):
    app = make_app(NOTIFIER="smtp", SMTP_HOST=smtp.host, SMTP_PORT=smtp.port)
    demo_program(app)
    client = app.test_client()
    first = enroll(client, smtp, "ana@example.com")
    old = re.sub(r"^https?://[^/]+", "", first["consents_url"])
    token = old.rsplit("/", 1)[1]
    # 256 random bits, kept only as a hash: nothing to derive from the member id, nothing to forge.
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", token)
    with runtime(app).sessions() as session:
        stored = session.get(Member, first["member"]["id"])
        assert stored is not None
        assert stored.consent_token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert client.get(old).status_code == 200

    second = enroll(client, smtp, "ana@example.com")
    new = re.sub(r"^https?://[^/]+", "", second["consents_url"])

    assert client.get(old).status_code == 404
    assert client.post(f"{old}/withdraw", json={"kind": "marketing"}).status_code == 404
    assert client.get(new).status_code == 200
