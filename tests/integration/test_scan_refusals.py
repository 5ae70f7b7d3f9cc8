"""Scans refused without a guess at a code (a replayed code, a locked card, a malformed scan):
one scan_refusals row each, with the till's store and the card when known, for the reports;
none counts toward the card's or the till's lock, the answers are the ones they always were,
and a failure to record leaves the answer as it is. Runs on PostgreSQL too."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from flask import Flask
from sqlalchemy import func, select, update
from werkzeug.test import TestResponse

from gateway.models.base import utcnow
from gateway.models.card import Card
from gateway.models.pos import ScanFailure, Store, Terminal
from gateway.models.scan_refusal import ScanRefusal
from gateway.pos import cardholder
from gateway.pos.scan_lockout import CARD_LOCKED, REPLAYED, record_failure
from gateway.pos.terminals import TerminalContext
from gateway.runtime import runtime
from gateway.services.chores.housekeeping import run_housekeeping
from gateway.services.reports.dashboard import SCAN_OUTCOMES
from passes.codes import format_scan
from tests.factories import EnrolledMember, enroll_member
from tests.integration.conftest import Till, new_till

REPLAYED_GOOGLE = ("code_already_used", "this code was already used")
REPLAYED_APPLE = (
    "code_already_used",
    "this code was already used: ask the customer to refresh the card",
)
LOCKED = ("card_locked", "this card is locked after too many wrong codes; try again later")
MALFORMED = ("malformed_scan", "the scan is not a loyalty card code")


def _refusals(app: Flask) -> list[tuple[str, int, int, int | None]]:
    """(reason, terminal, store, card) of every refusal, oldest first."""
    with runtime(app).sessions() as session:
        rows = session.execute(
            select(
                ScanRefusal.reason,
                ScanRefusal.terminal_id,
                ScanRefusal.store_id,
                ScanRefusal.card_id,
            ).order_by(ScanRefusal.id)
        ).all()
    return [(str(r), int(t), int(s), c) for r, t, s, c in rows]


def _count(app: Flask, query: Any) -> int:
    with runtime(app).sessions() as session:
        return int(session.scalar(query) or 0)


def _failures(app: Flask) -> int:
    return _count(app, select(func.count()).select_from(ScanFailure))


def _store_id(app: Flask, till: Till) -> int:
    return _count(app, select(Store.id).where(Store.code == till.store_code))


def _card(app: Flask, member: EnrolledMember) -> Card:
    with runtime(app).sessions() as session:
        card = session.scalars(select(Card).where(Card.number == member.card_number)).one()
        session.expunge(card)
        return card


def _terminal_locked(app: Flask, till: Till) -> bool:
    with runtime(app).sessions() as session:
        until = session.scalar(select(Terminal.locked_until).where(Terminal.id == till.terminal_id))
    return until is not None


def _error(response: TestResponse, status: int) -> tuple[str, str]:
    assert response.status_code == status, response.json
    assert set(response.json["error"]) == {"code", "message"}
    return response.json["error"]["code"], response.json["error"]["message"]


def _lock(app: Flask, member: EnrolledMember) -> None:
    with runtime(app).sessions() as session:
        session.execute(
            update(Card)
            .where(Card.number == member.card_number)
            .values(locked_until=utcnow() + timedelta(minutes=10))
        )
        session.commit()


def test_a_malformed_scan_records_its_till_and_store_and_no_card(app):
    till = new_till(app, "M1")
    member = enroll_member(app)
    for scan in ("hello", "7000000000000002-12345678", f"{member.card_number}-12"):
        assert _error(till.identify(scan), 400) == MALFORMED
    store = _store_id(app, till)
    assert _refusals(app) == [("malformed", till.terminal_id, store, None)] * 3
    assert _failures(app) == 0


def test_a_code_of_the_wrong_length_is_malformed_and_names_its_card(app):
    till = new_till(app)
    member = enroll_member(app)
    code, message = _error(till.identify(format_scan(member.card_number, "123456")), 400)
    assert (code, message) == ("malformed_scan", f"the code must have {member.digits} digits")
    card = _card(app, member)
    assert _refusals(app) == [("malformed", till.terminal_id, _store_id(app, till), card.id)]
    assert _failures(app) == 0


def test_replayed_codes_beyond_every_limit_lock_nothing(make_app):
    app = make_app(SCAN_FAILURE_LIMIT=2, TERMINAL_SCAN_FAILURE_LIMIT=3)
    member = enroll_member(app)
    first, other = new_till(app, "R1"), new_till(app, "R2")
    google, apple = member.google_scan(), member.apple_scan()
    assert first.identify(google).status_code == 200
    assert first.identify(apple).status_code == 200
    # The same codes at another till: already used (at the first till they reopen its checkout).
    for _ in range(4):
        assert _error(other.identify(google), 409) == REPLAYED_GOOGLE
        assert _error(other.identify(apple), 409) == REPLAYED_APPLE
    card = _card(app, member)
    store = _store_id(app, other)
    assert _refusals(app) == [("replayed", other.terminal_id, store, card.id)] * 8
    assert card.locked_until is None and not _terminal_locked(app, other)
    assert _failures(app) == 0
    # Neither the card nor the till is any closer to a lock: a fresh code is accepted there.
    assert other.identify(member.apple_scan(member.apple_counter + 1)).status_code == 200
    assert len(_refusals(app)) == 8


def test_a_scan_of_a_locked_card_is_recorded_once_and_extends_no_lock(make_app):
    app = make_app(SCAN_FAILURE_LIMIT=2, TERMINAL_SCAN_FAILURE_LIMIT=3)
    member = enroll_member(app)
    till = new_till(app)
    wrong = format_scan(member.card_number, "0" * member.digits)
    assert wrong not in (member.google_scan(), member.apple_scan())
    assert _error(till.identify(wrong), 422)[0] == "code_rejected"
    # The failure that locks the card is a wrong code (scan_failures), not a refusal.
    assert _error(till.identify(wrong), 423) == LOCKED
    assert _refusals(app) == [] and _failures(app) == 2
    locked_until = _card(app, member).locked_until
    for scan in (member.google_scan(), wrong, member.apple_scan()):
        assert _error(till.identify(scan), 423) == LOCKED
    card = _card(app, member)
    store = _store_id(app, till)
    assert _refusals(app) == [("card_locked", till.terminal_id, store, card.id)] * 3
    assert _failures(app) == 2 and card.locked_until == locked_until
    assert not _terminal_locked(app, till)


def test_a_card_locked_while_a_wrong_code_was_checked_is_a_locked_scan(app):
    """The race inside record_failure: the card was free when read, locked under its row lock."""
    member = enroll_member(app)
    till = new_till(app)
    rt = runtime(app)
    program_id, store_id = _card(app, member).program_id, _store_id(app, till)
    with rt.sessions() as session:
        holder = cardholder.by_number(session, program_id, member.card_number)
        store = session.get(Store, store_id)
        assert holder is not None and store is not None
        terminal = TerminalContext(
            till.terminal_id, store.id, store.code, store.program_id, None, None
        )
    _lock(app, member)
    answer = record_failure(rt, terminal, holder, utcnow())
    assert answer is not None and (answer.code, answer.status) == ("card_locked", 423)
    assert _refusals(app) == [("card_locked", till.terminal_id, store.id, holder.card_id)]
    assert _failures(app) == 0


def test_accepted_scans_and_wrong_codes_record_no_refusal(app):
    member = enroll_member(app)
    till = new_till(app)
    assert till.identify(member.google_scan()).status_code == 200
    assert till.identify(member.google_scan()).status_code == 200  # re-scan: its checkout
    assert _error(till.identify(format_scan(member.card_number, "0" * member.digits)), 422)
    assert _refusals(app) == [] and _failures(app) == 1


def test_a_failure_to_record_leaves_every_answer_as_it_was(app, caplog):
    member = enroll_member(app)
    till, other = new_till(app, "F1"), new_till(app, "F2")
    google = member.google_scan()
    assert till.identify(google).status_code == 200
    rt = runtime(app)
    with rt.engine.begin() as connection:
        connection.exec_driver_sql("ALTER TABLE scan_refusals RENAME TO scan_refusals_away")
    try:
        with caplog.at_level(logging.WARNING, logger="gateway.pos.scan_lockout"):
            assert _error(other.identify("not a scan"), 400) == MALFORMED
            assert _error(other.identify(google), 409) == REPLAYED_GOOGLE
            _lock(app, member)
            assert _error(other.identify(member.apple_scan()), 423) == LOCKED
    finally:
        with rt.engine.begin() as connection:
            connection.exec_driver_sql("ALTER TABLE scan_refusals_away RENAME TO scan_refusals")
    warned = [r for r in caplog.records if "could not record a refused scan" in r.getMessage()]
    assert len(warned) == 3
    assert _refusals(app) == [] and _failures(app) == 0


def test_housekeeping_purges_old_refusals_after_the_rollup_took_them(app):
    member = enroll_member(app)
    till = new_till(app)
    assert _error(till.identify("not a scan"), 400) == MALFORMED
    assert _error(till.identify(format_scan(member.card_number, "1")), 400)[0] == "malformed_scan"
    rt = runtime(app)
    with rt.sessions() as session:
        first = session.scalar(select(func.min(ScanRefusal.id)))
        session.execute(
            update(ScanRefusal)
            .where(ScanRefusal.id == first)
            .values(at=utcnow() - timedelta(days=30))
        )
        session.commit()
    done = run_housekeeping(rt)
    assert done["scan_refusals_purged"] == 1
    assert [row[0] for row in _refusals(app)] == ["malformed"]
    assert run_housekeeping(rt)["scan_refusals_purged"] == 0


def test_refusal_reasons_are_scan_outcomes_of_the_reports():
    assert {REPLAYED, CARD_LOCKED, "malformed"} <= set(dict(SCAN_OUTCOMES))
