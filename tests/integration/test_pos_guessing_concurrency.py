"""Guessing controls under concurrency: the card and till limits hold for parallel wrong codes,
and the per-till lookup limit for parallel card lookups (run on PostgreSQL too)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from sqlalchemy import func, select

from gateway.models.card import Card
from gateway.models.outbox import AuditEvent
from gateway.models.pos import ScanFailure
from gateway.runtime import runtime
from passes.codes import format_scan
from tests.factories import enroll_member
from tests.integration.conftest import new_till, race

pytestmark = pytest.mark.slow


def _answers(responses: list[Any]) -> Counter[tuple[int, str]]:
    return Counter(
        (r.status_code, r.json.get("error", {}).get("code", "")) for r in responses
    )


def _scalar(app, query) -> Any:
    with runtime(app).sessions() as session:
        return session.scalar(query)


def _wrong_code(member, i: int) -> str:
    """A wrong code of the program's length (never the current TOTP or HOTP code)."""
    right = {member.google_scan().split("-")[1], member.apple_scan().split("-")[1]}
    code = f"{i:08d}"
    return format_scan(member.card_number, code if code not in right else f"{i + 1:08d}")


def test_64_parallel_wrong_codes_on_one_card_check_at_most_the_limit(app):
    limit = runtime(app).pos_settings.scan_failure_limit
    member = enroll_member(app)
    tills = [new_till(app, f"S{i}") for i in range(8)]
    scans = [_wrong_code(member, i) for i in range(64)]
    clients = [app.test_client() for _ in range(64)]

    def guess(i: int) -> Any:
        till = tills[i % 8]
        return clients[i].post(
            "/pos/v1/identify", json={"scan": scans[i]}, headers=till.headers(None)
        )

    answers = _answers(race(64, guess))
    assert set(answers) <= {(422, "code_rejected"), (423, "card_locked")}, answers
    assert answers[(422, "code_rejected")] <= limit
    assert answers[(423, "card_locked")] >= 64 - limit
    card_id = _scalar(app, select(Card.id).where(Card.number == member.card_number))
    assert _scalar(app, select(func.count()).where(ScanFailure.card_id == card_id)) == limit
    assert _scalar(app, select(func.count()).where(AuditEvent.action == "card.locked")) == 1
    assert new_till(app, "S9").identify(member.google_scan()).status_code == 423


def test_parallel_guesses_over_several_cards_from_one_till_stop_at_the_till_limit(app):
    settings = runtime(app).pos_settings
    limit = settings.terminal_scan_failure_limit
    members = [enroll_member(app) for _ in range(6)]
    till = new_till(app)
    count = 48  # 8 per card: up to 5 per card would be 30 > the till's 20
    scans = [_wrong_code(members[i % 6], i) for i in range(count)]
    clients = [app.test_client() for _ in range(count)]

    def guess(i: int) -> Any:
        return clients[i].post(
            "/pos/v1/identify", json={"scan": scans[i]}, headers=till.headers(None)
        )

    answers = _answers(race(count, guess))
    allowed = {(422, "code_rejected"), (423, "card_locked"), (429, "rate_limited")}
    assert set(answers) <= allowed, answers
    failures = _scalar(
        app, select(func.count()).where(ScanFailure.terminal_id == till.terminal_id)
    )
    assert failures == limit
    assert answers[(422, "code_rejected")] <= limit
    assert _scalar(app, select(func.count()).where(AuditEvent.action == "terminal.locked")) == 1
    for member in members:
        card_id = _scalar(app, select(Card.id).where(Card.number == member.card_number))
        card_failures = _scalar(
            app, select(func.count()).where(ScanFailure.card_id == card_id)
        )
        assert card_failures <= settings.scan_failure_limit
    assert till.identify(members[0].google_scan()).status_code == 429


def test_parallel_card_lookups_of_one_till_stop_at_the_minute_limit(make_app):
    app = make_app(CARD_LOOKUPS_PER_MINUTE=5)
    till = new_till(app)
    member = enroll_member(app)
    clients = [app.test_client() for _ in range(24)]

    def lookup(i: int) -> Any:
        return clients[i].get(f"/pos/v1/cards/{member.card_number}", headers=till.headers(None))

    answers = _answers(race(24, lookup))
    assert answers == {(200, ""): 5, (429, "rate_limited"): 19}
    looked_up = _scalar(app, select(func.count()).where(AuditEvent.action == "card.looked_up"))
    assert looked_up == 5
