"""Nothing secret reaches the logs: codes, pass secrets, web-service tokens, download tokens."""

from __future__ import annotations

import logging
import re

from sqlalchemy import select

from gateway.models import WalletPass
from gateway.runtime import runtime
from gateway.services.keep_live.outbox import deliver_pending
from tests.api.enrollment_helpers import start
from tests.factories import demo_program
from tests.fakes.crm_server import FakeCrm


def test_enrollment_and_download_log_no_secret(make_app, smtp, caplog):
    caplog.set_level(logging.DEBUG)
    with FakeCrm(webhook_secret="s3cret-webhook") as crm:
        # Wrong webhook secret on our side: the failed delivery is logged, without secrets.
        app = make_app(
            NOTIFIER="smtp",
            SMTP_HOST=smtp.host,
            SMTP_PORT=smtp.port,
            CRM="http",
            CRM_BASE_URL=crm.base_url,
            CRM_WEBHOOK_SECRET="our-webhook-secret",
            CRM_API_KEY="crm-api-key-value",
        )
        demo_program(app)
        client = app.test_client()
        enrollment_id = start(client, email="lee@example.com")
        code = smtp.last_code_for("lee@example.com")
        client.post(f"/api/v1/enrollments/{enrollment_id}/verify", json={"code": "000000"})
        answer = client.post(f"/api/v1/enrollments/{enrollment_id}/verify", json={"code": code})
        assert answer.status_code == 200
        token = re.search(r"/apple/([^/]+)\.pkpass$", answer.json["apple"]["pkpass_url"]).group(1)
        assert client.get(f"/api/v1/passes/apple/{token}.pkpass").status_code == 200
        deliver_pending(runtime(app))  # the worker's webhook delivery fails (wrong secret)

    box = runtime(app).secret_box
    with runtime(app).sessions() as session:
        passes = session.scalars(select(WalletPass)).all()
    secrets_seen = [code, token, "our-webhook-secret", "crm-api-key-value"]
    for wallet_pass in passes:
        secrets_seen.append(
            box.open(wallet_pass.code_secret, f"pass:{wallet_pass.serial}:code").hex()
        )
        if wallet_pass.auth_token:
            secrets_seen.append(
                box.open(wallet_pass.auth_token, f"pass:{wallet_pass.serial}:apple-auth").decode()
            )
    # Everything logged in the process except the fake SMTP server's own transcript.
    logged = "\n".join(
        record.getMessage() for record in caplog.records if not record.name.startswith("mail.")
    )
    assert "outbox" in logged and "/members" in logged  # logging was on, at DEBUG
    for secret in secrets_seen:
        assert secret not in logged
