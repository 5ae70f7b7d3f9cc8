"""Helpers for the member-support tests: what a phone holding a card's pass would show now, and
a gateway wired to the local fake Google Wallet API and SMTP server."""

from __future__ import annotations

import io
import json
import time
import zipfile
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import select

from gateway.models.card import Card, WalletPass
from gateway.runtime import runtime
from gateway.services.issue.card_credentials import issue_download_link
from gateway.services.issue.issuance import code_secret_purpose
from gateway.services.keep_live.outbox import add_event, deliver_pending
from passes.codes import format_scan, hotp_code, totp_code
from tests.conftest import AppFactory
from tests.factories import demo_program
from tests.fakes.google_wallet_server import FakeGoogleWallet
from tests.fakes.smtp_server import FakeSmtpServer


def _current_pass(app: Flask, card_number: str, wallet: str) -> tuple[WalletPass, bytes]:
    """The card's pass of `wallet` (detached) and its open code secret."""
    rt = runtime(app)
    with rt.sessions() as session:
        wallet_pass = session.scalars(
            select(WalletPass)
            .join(Card, Card.id == WalletPass.card_id)
            .where(Card.number == card_number, WalletPass.wallet == wallet)
        ).one()
        secret = rt.secret_box.open(
            wallet_pass.code_secret, code_secret_purpose(wallet_pass.serial)
        )
        session.expunge(wallet_pass)
        return wallet_pass, secret


def apple_scan(app: Flask, card_number: str) -> str:
    """The scan the card's Apple pass shows now (its current secret and counter)."""
    apple, secret = _current_pass(app, card_number, "apple")
    return format_scan(card_number, hotp_code(secret, apple.code_counter))


def google_scan(app: Flask, card_number: str) -> str:
    """The scan the card's Google pass renders now (TOTP of the current time)."""
    _, secret = _current_pass(app, card_number, "google")
    return format_scan(card_number, totp_code(secret, int(time.time())))


def apple_copy(app: Flask, card_number: str) -> tuple[dict[str, Any], str]:
    """The pass.json a phone would hold after downloading the pass now, and that download path."""
    rt = runtime(app)
    with rt.sessions() as session:
        apple = session.scalars(
            select(WalletPass)
            .join(Card, Card.id == WalletPass.card_id)
            .where(Card.number == card_number, WalletPass.wallet == "apple")
        ).one()
        token = issue_download_link(rt, apple)
        session.commit()
    path = f"/api/v1/passes/apple/{token}.pkpass"
    data = app.test_client().get(path).data
    return json.loads(zipfile.ZipFile(io.BytesIO(data)).read("pass.json")), path


def google_object_id(app: Flask, card_number: str) -> str:
    """The card's current Google object id."""
    with runtime(app).sessions() as session:
        object_id = session.scalars(
            select(WalletPass.google_object_id)
            .join(Card, Card.id == WalletPass.card_id)
            .where(Card.number == card_number, WalletPass.wallet == "google")
        ).one()
        assert object_id is not None
        return object_id


def insert_google_object(app: Flask, card_number: str) -> str:
    """Have the worker insert the card's Google object (as after a save link was handed out)."""
    rt = runtime(app)
    with rt.sessions() as session:
        google = session.scalars(
            select(WalletPass)
            .join(Card, Card.id == WalletPass.card_id)
            .where(Card.number == card_number, WalletPass.wallet == "google")
        ).one()
        add_event(session, "google.object.upsert", {"pass_id": google.id})
        session.commit()
    deliver_pending(rt)
    return google_object_id(app, card_number)


def wired_app(
    make_app: AppFactory,
    wallet: FakeGoogleWallet,
    smtp: FakeSmtpServer,
    tmp_path: Path,
    **overrides: Any,
) -> Flask:
    """The gateway talking to the fake Wallet API and sending mail to the fake SMTP server."""
    account_file = tmp_path / "service-account.json"
    account_file.write_text(json.dumps(wallet.service_account()))
    app = make_app(
        NOTIFIER="smtp",
        SMTP_HOST=smtp.host,
        SMTP_PORT=smtp.port,
        GOOGLE_API_BASE_URL=wallet.base_url,
        GOOGLE_SERVICE_ACCOUNT=str(account_file),
        **overrides,
    )
    demo_program(app)
    return app
