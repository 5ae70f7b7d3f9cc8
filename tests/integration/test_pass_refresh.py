"""A program change fans out to every issued pass: Apple update tags bumped and devices pushed
(local fake APNs), the Google class and objects patched (local fake Wallet API), each pass counted
once in the refresh's progress, a failed Google patch retried alone."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from flask import Flask
from sqlalchemy import select, update

from gateway.models import Card, OutboxEvent, Program, WalletPass
from gateway.models.base import utcnow
from gateway.runtime import runtime
from gateway.services.issue.card_admin import card_by_number, revoke_card
from gateway.services.keep_live.outbox import deliver_pending
from gateway.services.keep_live.pass_restyle import restyle_pass
from gateway.services.operate import pass_refresh
from gateway.services.operate.pass_refresh import (
    RESTYLE_EVENT,
    RefreshProgress,
    refresh_progress,
    start_refresh,
)
from tests.conftest import AppFactory
from tests.factories import enroll_member
from tests.fakes.apns_server import FakeApns
from tests.fakes.google_wallet_server import FakeGoogleWallet, keep_google_auth_local
from tests.fakes.smtp_server import FakeSmtpServer
from tests.member_helpers import insert_google_object, wired_app


@pytest.fixture
def wallet(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGoogleWallet]:
    keep_google_auth_local(monkeypatch)
    with FakeGoogleWallet() as fake:
        yield fake


@pytest.fixture
def apns() -> Iterator[FakeApns]:
    with FakeApns() as server:
        yield server


@pytest.fixture
def smtp() -> Iterator[FakeSmtpServer]:
    with FakeSmtpServer() as server:
        yield server


@pytest.fixture
def app(
    make_app: AppFactory,
    wallet: FakeGoogleWallet,
    apns: FakeApns,
    smtp: FakeSmtpServer,
    tmp_path: Path,
) -> Flask:
    key = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    key_file = tmp_path / "AuthKey_ABC123.p8"
    key_file.write_bytes(key)
    return wired_app(
        make_app,
        wallet,
        smtp,
        tmp_path,
        APNS_BASE_URL=apns.base_url,
        APNS_AUTH_KEY_FILE=str(key_file),
        APNS_KEY_ID="ABC123",
    )


def _apple_pass(app: Flask, card_number: str) -> WalletPass:
    with runtime(app).sessions() as session:
        return session.scalars(
            select(WalletPass)
            .join(Card, Card.id == WalletPass.card_id)
            .where(Card.number == card_number, WalletPass.wallet == "apple")
        ).one()


def _register_device(app: Flask, card_number: str, device: str, push_token: str) -> None:
    rt = runtime(app)
    apple = _apple_pass(app, card_number)
    assert apple.auth_token is not None
    token = rt.secret_box.open(apple.auth_token, f"pass:{apple.serial}:apple-auth").decode()
    pass_type = rt.credentials.apple_signer.pass_type_id
    answer = app.test_client().post(
        f"/wallet/apple/v1/devices/{device}/registrations/{pass_type}/{apple.serial}",
        json={"pushToken": push_token},
        headers={"Authorization": f"ApplePass {token}"},
    )
    assert answer.status_code == 201


def _member_with_passes(app: Flask, device: str) -> tuple[str, str]:
    """A member whose Google object exists and whose Apple pass is on a device."""
    member = enroll_member(app, balance=700)
    object_id = insert_google_object(app, member.card_number)
    _register_device(app, member.card_number, device, f"tok-{device}")
    return member.card_number, object_id


def _restyle(app: Flask, **look: str) -> int:
    """Change the demo program's look and start the refresh, as the program service does."""
    with runtime(app).sessions() as session:
        program = session.scalars(select(Program).where(Program.slug == "demo")).one()
        for name, value in look.items():
            setattr(program, name, value)
        refresh = start_refresh(session, program, "operator:1", "look changed")
        session.commit()
        return refresh.id


def _progress(app: Flask, refresh_id: int) -> RefreshProgress:
    with runtime(app).sessions() as session:
        return refresh_progress(session, refresh_id)


def _due_now(app: Flask) -> None:
    """Skip the retry backoff (the test does not wait for it)."""
    with runtime(app).sessions() as session:
        session.execute(
            update(OutboxEvent)
            .where(OutboxEvent.delivered_at.is_(None))
            .values(next_attempt_at=utcnow())
        )
        session.commit()


def _settle(app: Flask) -> None:
    """Deliver what enrollment and setup queued, and forget what the fakes saw of it."""
    deliver_pending(runtime(app))


def test_a_change_reaches_every_pass_in_both_wallets(
    app: Flask, wallet: FakeGoogleWallet, apns: FakeApns, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(pass_refresh, "_BATCH", 3)  # passes are queued in batches of ids
    first, first_object = _member_with_passes(app, "phone-a")
    second, second_object = _member_with_passes(app, "phone-b")
    _settle(app)
    tags = {n: _apple_pass(app, n).update_tag for n in (first, second)}
    stamps: dict[str, datetime] = {n: _apple_pass(app, n).updated_at for n in (first, second)}
    pushed_before = len(apns.pushes)

    refresh_id = _restyle(app, name="Coffee Club", background_color="#AA0000", points_label="Beans")
    assert _progress(app, refresh_id) == RefreshProgress(refresh_id, _program_id(app), 4, 0, 0)
    deliver_pending(runtime(app))

    progress = _progress(app, refresh_id)
    assert (progress.total, progress.done, progress.failed) == (4, 4, 0)
    assert progress.finished and progress.percent == 100
    for number in (first, second):
        after = _apple_pass(app, number)
        assert after.update_tag == tags[number] + 1
        assert after.updated_at > stamps[number]
    assert sorted(apns.tokens_pushed()[pushed_before:]) == ["tok-phone-a", "tok-phone-b"]
    class_id = wallet.objects[first_object]["classId"]
    assert wallet.classes[class_id]["programName"] == "Coffee Club"
    assert wallet.classes[class_id]["hexBackgroundColor"] == "#aa0000"
    for object_id in (first_object, second_object):
        assert wallet.objects[object_id]["loyaltyPoints"]["label"] == "Beans"
    # The web service hands out the new look once the device asks (new tag, new colors).
    assert _apple_pass(app, first).update_tag == tags[first] + 1


def _program_id(app: Flask) -> int:
    with runtime(app).sessions() as session:
        return session.scalars(select(Program.id).where(Program.slug == "demo")).one()


def test_a_failed_google_patch_is_retried_alone(
    app: Flask, wallet: FakeGoogleWallet, apns: FakeApns
):
    number, object_id = _member_with_passes(app, "phone")
    _settle(app)
    pushed_before = len(apns.pushes)
    tag = _apple_pass(app, number).update_tag

    refresh_id = _restyle(app, points_label="Stars")
    deliver_pending(runtime(app), kinds={"google.class.restyled"})
    wallet.fail_next(1, status=400, message="injected refusal")
    deliver_pending(runtime(app))

    progress = _progress(app, refresh_id)
    assert (progress.done, progress.failed, progress.finished) == (1, 1, False)
    assert wallet.objects[object_id]["loyaltyPoints"]["label"] != "Stars"
    assert apns.tokens_pushed()[pushed_before:] == ["tok-phone"]

    _due_now(app)
    deliver_pending(runtime(app))
    progress = _progress(app, refresh_id)
    assert (progress.done, progress.failed, progress.finished) == (2, 0, True)
    assert wallet.objects[object_id]["loyaltyPoints"]["label"] == "Stars"
    # The retry patched Google only: no second push, no second tag bump.
    assert apns.tokens_pushed()[pushed_before:] == ["tok-phone"]
    assert _apple_pass(app, number).update_tag == tag + 1


def test_a_replayed_delivery_counts_once(app: Flask, apns: FakeApns):
    number, _ = _member_with_passes(app, "phone")
    _settle(app)
    refresh_id = _restyle(app, label_color="#123456")
    with runtime(app).sessions() as session:
        events = session.scalars(
            select(OutboxEvent).where(OutboxEvent.kind == RESTYLE_EVENT).order_by(OutboxEvent.id)
        ).all()
    assert len(events) == 2
    # Two workers run the same event (a lease ran out), then the worker loop comes by.
    for event in events:
        restyle_pass(runtime(app), event)
        restyle_pass(runtime(app), event)
    assert deliver_pending(runtime(app), kinds={RESTYLE_EVENT}) == 0

    progress = _progress(app, refresh_id)
    assert (progress.total, progress.done, progress.failed) == (2, 2, 0)
    assert progress.finished
    # Delivery is at least once (both runs pushed); only the count is exactly once.
    assert set(apns.tokens_pushed()) == {"tok-phone"}
    assert number


def test_revoked_cards_are_left_out_and_an_empty_program_is_done_at_once(app: Flask):
    kept = enroll_member(app)
    revoked = enroll_member(app)
    rt = runtime(app)
    with rt.sessions() as session:
        revoke_card(session, rt, card_by_number(session, revoked.card_number, "demo"), "cli")
    _settle(app)

    refresh_id = _restyle(app, organization="Bakery Ltd")
    assert _progress(app, refresh_id).total == 2  # the two passes of the active card
    deliver_pending(rt)
    assert _progress(app, refresh_id).finished
    assert kept.card_number

    with rt.sessions() as session:
        session.execute(update(Card).values(status="revoked"))
        session.commit()
    empty = _restyle(app, organization="Bakery Group")
    progress = _progress(app, empty)
    assert (progress.total, progress.finished, progress.percent) == (0, True, 100)
