"""The old pass of a replaced card at the till: its codes answer 410 `card_revoked` (an old copy,
not a guess), never lock the card, but do count toward the till's limit; a wrong code is still a
wrong code; retired secrets go after RETIRED_CODE_SECRET_DAYS."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from sqlalchemy import func, select, update
from werkzeug.test import TestResponse

from gateway.models import Card, RetiredCodeSecret, ScanFailure, WalletPass
from gateway.models.base import utcnow
from gateway.runtime import runtime
from gateway.secret_box import SecretBox, new_key_entry, parse_key_ring
from gateway.services.chores.housekeeping import run_housekeeping
from gateway.services.chores.key_rotation import reencrypt_secrets
from gateway.services.issue.card_admin import card_by_number, replace_card, revoke_card
from gateway.services.issue.issuance import code_secret_purpose
from passes.codes import format_scan
from tests.factories import enroll_member
from tests.integration.conftest import new_till
from tests.member_helpers import apple_scan, google_scan

OLD_COPY = "this is an old copy of the card: ask the customer to open the new pass"


def _replace(app: Flask, number: str) -> None:
    rt = runtime(app)
    with rt.sessions() as session:
        replace_card(session, rt, card_by_number(session, number, "demo"), "operator:1")


def _revoke(app: Flask, number: str) -> None:
    rt = runtime(app)
    with rt.sessions() as session:
        assert revoke_card(session, rt, card_by_number(session, number, "demo"), "operator:1")


def _card(app: Flask, number: str) -> Card:
    with runtime(app).sessions() as session:
        card = session.scalars(select(Card).where(Card.number == number)).one()
        session.expunge(card)
        return card


def _failures(app: Flask, *where: object) -> int:
    with runtime(app).sessions() as session:
        return session.scalar(select(func.count()).select_from(ScanFailure).where(*where)) or 0


def _retired(app: Flask) -> int:
    with runtime(app).sessions() as session:
        return session.scalar(select(func.count()).select_from(RetiredCodeSecret)) or 0


def _is_old_copy(response: TestResponse) -> bool:
    return response.status_code == 410 and response.json["error"] == {
        "code": "card_revoked",
        "message": OLD_COPY,
    }


def test_old_codes_of_a_replaced_card_are_an_old_copy_and_never_lock_the_card(app):
    member = enroll_member(app, balance=700)
    till = new_till(app)
    limit = runtime(app).pos_settings.scan_failure_limit
    # The old Apple pass was used once: it now shows the next counter's code, or the used one if
    # it missed the update.
    assert till.identify(member.apple_scan()).status_code == 200
    used, shown = member.apple_scan(), member.apple_scan(member.apple_counter + 1)

    _replace(app, member.card_number)

    # The old Apple copy's codes and the old Google object's rotating code: each an old copy,
    # not a wrong code.
    assert _is_old_copy(till.identify(shown))
    assert _is_old_copy(till.identify(used))
    assert _is_old_copy(till.identify(member.google_scan()))
    # More than the card's limit of them: the card stays usable.
    for _ in range(limit + 1):
        assert _is_old_copy(till.identify(shown))
    card = _card(app, member.card_number)
    assert card.locked_until is None and card.status == "active"
    assert _failures(app, ScanFailure.card_id == card.id) == 0
    assert _failures(app, ScanFailure.reason == "old_copy") == limit + 4

    # The new passes work, with the same number and balance.
    answer = till.identify(apple_scan(app, member.card_number))
    assert answer.status_code == 200, answer.json
    assert answer.json["balance"]["points"] == 700
    answer = till.identify(google_scan(app, member.card_number))
    assert answer.status_code == 200, answer.json
    assert answer.json["card"]["wallet"] == "google"


def test_a_wrong_code_is_still_rejected_and_counted_after_a_replace(app):
    member = enroll_member(app)
    till = new_till(app)
    limit = runtime(app).pos_settings.scan_failure_limit
    _replace(app, member.card_number)
    wrong = format_scan(member.card_number, "0" * member.digits)

    for _ in range(limit - 1):
        refused = till.identify(wrong)
        assert refused.status_code == 422
        assert refused.json["error"]["code"] == "code_rejected"
    locked = till.identify(wrong)
    assert locked.status_code == 423 and locked.json["error"]["code"] == "card_locked"
    card = _card(app, member.card_number)
    assert card.locked_until is not None
    assert _failures(
        app, ScanFailure.card_id == card.id, ScanFailure.reason == "code_rejected"
    ) == (limit)


def test_old_copy_scans_count_toward_the_tills_limit(make_app):
    app = make_app(TERMINAL_SCAN_FAILURE_LIMIT=3)
    member = enroll_member(app)
    till = new_till(app)
    _replace(app, member.card_number)

    for _ in range(3):
        assert _is_old_copy(till.identify(member.apple_scan()))
    limited = till.identify(member.apple_scan())
    assert limited.status_code == 429 and limited.json["error"]["code"] == "rate_limited"
    # Another till is not affected, and the card is not locked.
    other = new_till(app, "S2")
    assert other.identify(apple_scan(app, member.card_number)).status_code == 200


def test_retired_secrets_go_after_the_retention(make_app):
    app = make_app(RETIRED_CODE_SECRET_DAYS=30)
    member = enroll_member(app)
    till = new_till(app)
    _replace(app, member.card_number)
    assert _retired(app) == 2
    assert _is_old_copy(till.identify(member.apple_scan()))

    rt = runtime(app)
    assert run_housekeeping(rt)["retired_secrets_purged"] == 0
    with rt.sessions() as session:
        session.execute(update(RetiredCodeSecret).values(retired_at=utcnow() - timedelta(days=31)))
        session.commit()
    # Past the retention the old code is a wrong code again, before and after the purge.
    refused = till.identify(member.google_scan())
    assert refused.status_code == 422 and refused.json["error"]["code"] == "code_rejected"
    assert run_housekeeping(rt)["retired_secrets_purged"] == 2
    assert _retired(app) == 0
    refused = till.identify(member.apple_scan())
    assert refused.status_code == 422 and refused.json["error"]["code"] == "code_rejected"
    card = _card(app, member.card_number)
    assert _failures(app, ScanFailure.card_id == card.id) == 2


def test_revoke_then_two_replacements_keep_every_old_generation(app):
    first = enroll_member(app)
    number = first.card_number
    till = new_till(app)

    _revoke(app, number)
    revoked = till.identify(first.apple_scan())
    assert revoked.status_code == 410 and revoked.json["error"]["code"] == "card_revoked"
    _replace(app, number)
    second_apple, second_google = apple_scan(app, number), google_scan(app, number)
    _replace(app, number)

    assert _retired(app) == 6  # three rotations of two passes
    for old in (first.apple_scan(), first.google_scan(), second_apple, second_google):
        assert _is_old_copy(till.identify(old)), old
    assert till.identify(apple_scan(app, number)).status_code == 200
    assert till.identify(google_scan(app, number)).status_code == 200
    assert _card(app, number).locked_until is None


def test_keys_rotate_re_seals_retired_secrets_so_old_copies_stay_recognised(make_app, key_ring):
    app = make_app()
    member = enroll_member(app)
    _replace(app, member.card_number)
    new_key = new_key_entry("t2")
    with runtime(app).sessions() as session:
        reencrypt_secrets(session, SecretBox(parse_key_ring(f"{new_key},{key_ring}")))
    # The old key has left the ring: only what was re-sealed can still be opened.
    rotated = make_app(SECRET_KEYS=new_key)
    till = new_till(rotated)
    assert _is_old_copy(till.identify(member.apple_scan()))
    assert till.identify(apple_scan(rotated, member.card_number)).status_code == 200


def test_a_retired_secret_under_a_dropped_key_is_a_wrong_code_not_an_error(make_app, key_ring):
    # A retired secret sealed by a key no longer in the ring cannot be opened: its codes are
    # simply wrong codes again, never a 500. (Here only the live passes were moved to the new
    # key before the old one was dropped.)
    app = make_app()
    member = enroll_member(app)
    _replace(app, member.card_number)
    new_key = new_key_entry("t2")
    both = SecretBox(parse_key_ring(f"{new_key},{key_ring}"))
    with runtime(app).sessions() as session:
        for wallet_pass in session.scalars(select(WalletPass)):
            purpose = code_secret_purpose(wallet_pass.serial)
            wallet_pass.code_secret = both.seal(
                both.open(wallet_pass.code_secret, purpose), purpose
            )
        session.commit()
    rotated = make_app(SECRET_KEYS=new_key)
    till = new_till(rotated)
    refused = till.identify(member.apple_scan())
    assert refused.status_code == 422 and refused.json["error"]["code"] == "code_rejected"
    assert till.identify(apple_scan(rotated, member.card_number)).status_code == 200
