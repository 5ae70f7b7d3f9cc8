"""GET /pos/v1/cards/<number> is no oracle: rate-limited per till, audited, unknown numbers
count toward the till's lock, and a program may require a checkout."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, update

from gateway.models.base import utcnow
from gateway.models.card_lookup import CardLookup
from gateway.models.outbox import AuditEvent
from gateway.models.pos import ScanFailure
from gateway.models.program import Program
from gateway.runtime import runtime
from passes.codes import luhn_check_digit
from tests.factories import enroll_member
from tests.integration.conftest import Till, new_till


def _unknown(i: int) -> str:
    number = f"79999999999{i:04d}"
    return number + luhn_check_digit(number)


def _error(response) -> str:
    return str(response.json["error"]["code"])


def _require_checkout(app) -> None:
    with runtime(app).sessions() as session:
        session.execute(update(Program).values(card_lookup_requires_checkout=True))
        session.commit()


def test_every_lookup_is_audited_with_the_till_and_the_card(app, till):
    member = enroll_member(app, balance=10)
    assert till.get(f"/cards/{member.card_number}").status_code == 200
    assert till.get(f"/cards/{_unknown(1)}").status_code == 404
    with runtime(app).sessions() as session:
        rows = session.execute(
            select(AuditEvent.actor, AuditEvent.subject, AuditEvent.details)
            .where(AuditEvent.action == "card.looked_up")
            .order_by(AuditEvent.id)
        ).all()
    actor = f"terminal:{till.terminal_id}"
    assert [tuple(row) for row in rows] == [
        (actor, f"card:{member.card_number}", {"result": "found"}),
        (actor, f"card:{_unknown(1)}", {"result": "unknown_card"}),
    ]


def test_unknown_card_lookups_count_toward_the_till_lock(make_app):
    app = make_app(TERMINAL_SCAN_FAILURE_LIMIT=3)
    till = new_till(app)
    member = enroll_member(app)
    assert [till.get(f"/cards/{_unknown(i)}").status_code for i in range(3)] == [404] * 3
    locked = till.get(f"/cards/{member.card_number}")
    assert locked.status_code == 429
    assert _error(locked) == "rate_limited"
    assert int(locked.headers["Retry-After"]) > 0
    assert _error(till.identify(member.google_scan())) == "rate_limited"
    with runtime(app).sessions() as session:
        reasons = list(session.scalars(select(ScanFailure.reason)))
        actions = list(session.scalars(select(AuditEvent.action)))
    assert reasons == ["unknown_card_lookup"] * 3
    assert actions.count("terminal.locked") == 1
    # the refused lookup was neither counted nor audited
    assert actions.count("card.looked_up") == 3
    # a known card's lookup is not a failure
    other = new_till(app)
    assert other.get(f"/cards/{member.card_number}").status_code == 200


def test_lookups_are_rate_limited_per_till_across_workers(make_app):
    first = make_app(CARD_LOOKUPS_PER_MINUTE=3)
    second = make_app(CARD_LOOKUPS_PER_MINUTE=3)  # another worker on the same database
    till = new_till(first)
    member = enroll_member(first)
    tills = [till, Till(second.test_client(), till.key, till.terminal_id, till.store_code)]
    path = f"/cards/{member.card_number}"
    statuses = [tills[i % 2].get(path).status_code for i in range(3)]
    assert statuses == [200, 200, 200]
    refused = tills[1].get(path)
    assert refused.status_code == 429
    assert _error(refused) == "rate_limited"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert tills[0].get(f"/cards/{_unknown(1)}").status_code == 429  # not counted as a failure
    assert new_till(first).get(path).status_code == 200  # another till has its own minute
    with runtime(first).sessions() as session:
        assert session.scalar(select(func.count()).select_from(ScanFailure)) == 0
        # a minute later the till may look up again
        session.execute(update(CardLookup).values(at=utcnow() - timedelta(seconds=61)))
        session.commit()
    assert till.get(path).status_code == 200


def test_program_policy_requires_an_open_checkout_of_this_till_for_the_card(app, till):
    member = enroll_member(app, balance=40)
    other_member = enroll_member(app)
    other_till = new_till(app, "S2")
    path = f"/cards/{member.card_number}"
    assert till.get(path).status_code == 200
    _require_checkout(app)
    bare = till.get(path)
    assert bare.status_code == 403
    assert bare.json == {
        "error": {"code": "checkout_required", "message": bare.json["error"]["message"]}
    }
    token = till.checkout(member.google_scan())
    found = till.get(f"{path}?checkout={token}")
    assert found.status_code == 200
    assert found.json["balance"] == {"points": 40, "held": 0}
    other_card = till.checkout(other_member.google_scan())
    foreign = other_till.checkout(member.apple_scan())
    for refused in (
        till.get(f"{path}?checkout={other_card}"),  # a checkout of another card
        other_till.get(f"{path}?checkout={token}"),  # a checkout of another till
        till.get(f"{path}?checkout=co_forged"),
        till.get(f"{path}?checkout={foreign[:-2]}xx"),
        till.get(f"/cards/{_unknown(1)}"),  # no existence oracle either
    ):
        assert refused.status_code == 403
        assert _error(refused) == "checkout_required"
    assert other_till.get(f"{path}?checkout={foreign}").status_code == 200
    with runtime(app).sessions() as session:
        assert session.scalar(select(func.count()).select_from(ScanFailure)) == 0
        results = list(
            session.scalars(
                select(AuditEvent.details["result"].as_string()).where(
                    AuditEvent.action == "card.looked_up"
                )
            )
        )
    assert results.count("checkout_required") == 6
    assert results.count("found") == 3


def test_malformed_numbers_are_refused_before_any_lookup(app, till):
    for number in ("1234", "7000000000000014", "x" * 16):
        response = till.get(f"/cards/{number}")
        assert response.status_code == 400
        assert _error(response) == "malformed_scan"
    with runtime(app).sessions() as session:
        assert session.scalar(select(func.count()).select_from(CardLookup)) == 0
