"""Closing a membership on request: contact data gone (gateway, enrollments, built-in CRM),
ledger sums, consent records and audit kept, the card revoked everywhere; idempotent."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from gateway.domain.errors import GatewayError
from gateway.models import AuditEvent, Consent, LedgerEntry, Member, OutboxEvent
from gateway.models.crm_builtin import CrmMember
from gateway.models.enrollment import Enrollment
from gateway.runtime import runtime
from gateway.services.issue.card_admin import card_by_number, replace_card
from gateway.services.keep_live.outbox import deliver_pending
from gateway.services.operate.member_erasure import erase_member
from gateway.services.operate.members import program_by_slug, search_members
from gateway.services.operate.point_adjustments import adjust_points
from tests.api.enrollment_helpers import enroll, start
from tests.factories import demo_program
from tests.fakes.smtp_server import FakeSmtpServer
from tests.integration.conftest import account_state, assert_ledger_consistent, new_till
from tests.member_helpers import apple_scan

EMAIL = "dana@example.com"


@pytest.fixture
def smtp() -> Iterator[FakeSmtpServer]:
    with FakeSmtpServer() as server:
        yield server


@pytest.fixture
def mail_app(make_app, smtp):
    app = make_app(NOTIFIER="smtp", SMTP_HOST=smtp.host, SMTP_PORT=smtp.port)
    demo_program(app)
    return app


def _erase(app, number: str):
    rt = runtime(app)
    with rt.sessions() as session:
        return erase_member(session, rt, card_by_number(session, number, "demo"), "operator:2")


def _search(app, query: str):
    with runtime(app).sessions() as session:
        return search_members(session, program_by_slug(session, "demo"), query)


def _count(app, model, *where) -> int:
    with runtime(app).sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def test_erasure_forgets_the_person_and_keeps_the_books(mail_app, smtp):
    answer = enroll(mail_app.test_client(), smtp, EMAIL, name="Dana Scully")
    number = answer["member"]["card_number"]
    member_id = answer["member"]["id"]
    till = new_till(mail_app)
    assert till.identify(apple_scan(mail_app, number)).status_code == 200
    pending = start(mail_app.test_client(), email=EMAIL)  # began again, never finished
    ledger_before = _count(mail_app, LedgerEntry)
    balance_before = account_state(mail_app, _account_id(mail_app, member_id))

    result = _erase(mail_app, number)

    assert (result.already, result.card_revoked) == (False, True)
    with runtime(mail_app).sessions() as session:
        member = session.get(Member, member_id)
        assert member is not None
        assert (member.email, member.phone, member.name) == (None, None, "")
        assert member.erased_at is not None and member.consent_token_hash is None
        enrollments = {e.id: e for e in session.scalars(select(Enrollment))}
        assert len(enrollments) == 2
        assert {(e.contact, e.name) for e in enrollments.values()} == {("erased", "")}
        assert enrollments[pending].status == "dead"
        consents = session.scalars(select(Consent).where(Consent.member_id == member_id)).all()
        assert {c.kind for c in consents} == {"terms", "marketing"}
        assert all(c.withdrawn_at is not None for c in consents if c.granted)
    # The books are untouched: same ledger rows, same balance, still consistent.
    assert _count(mail_app, LedgerEntry) == ledger_before
    assert account_state(mail_app, _account_id(mail_app, member_id)) == balance_before
    assert_ledger_consistent(mail_app)
    # The card is dead at the till; the member is not found by the old e-mail any more.
    refused = till.identify(apple_scan(mail_app, number))
    assert refused.status_code == 410 and refused.json["error"]["code"] == "card_revoked"
    assert _search(mail_app, EMAIL) == []
    (hit,) = _search(mail_app, number)
    assert hit.closed and hit.email is None and hit.name == ""
    # Audited without the erased data; the CRM is told, and the built-in CRM forgets too.
    (audit,) = _audits(mail_app, "member.erased")
    assert EMAIL not in str(audit.details) and "Dana" not in str(audit.details)
    assert audit.details["after"]["closed"] is True
    (closed,) = _events(mail_app, "member.closed")
    assert closed.payload["card_number"] == number
    deliver_pending(runtime(mail_app))
    with runtime(mail_app).sessions() as session:
        crm_id = session.scalar(select(Member.crm_id).where(Member.id == member_id))
        crm = session.get(CrmMember, int(str(crm_id)))
        assert crm is not None
        assert (crm.email, crm.phone, crm.name) == (None, None, "")


def test_erasing_twice_changes_nothing_more(mail_app, smtp):
    number = enroll(mail_app.test_client(), smtp, EMAIL)["member"]["card_number"]
    _erase(mail_app, number)

    again = _erase(mail_app, number)

    assert (again.already, again.card_revoked) == (True, False)
    assert len(_audits(mail_app, "member.erased")) == 1
    assert len(_audits(mail_app, "card.revoked")) == 1
    assert len(_events(mail_app, "member.closed")) == 1


def test_a_closed_membership_cannot_be_replaced_or_adjusted(mail_app, smtp):
    number = enroll(mail_app.test_client(), smtp, EMAIL)["member"]["card_number"]
    _erase(mail_app, number)
    rt = runtime(mail_app)

    with rt.sessions() as session, pytest.raises(GatewayError) as replaced:
        replace_card(session, rt, card_by_number(session, number, "demo"), "operator:2")
    with rt.sessions() as session, pytest.raises(GatewayError) as adjusted:
        card = card_by_number(session, number, "demo")
        adjust_points(session, card, 10, "Goodwill", "req-closed-1", "operator:2")

    assert replaced.value.code == adjusted.value.code == "member_closed"
    assert replaced.value.status == 409


def test_the_same_person_can_join_again_as_a_new_member(mail_app, smtp):
    first = enroll(mail_app.test_client(), smtp, EMAIL)["member"]
    _erase(mail_app, first["card_number"])
    deliver_pending(runtime(mail_app))

    second = enroll(mail_app.test_client(), smtp, EMAIL)["member"]

    assert second["id"] != first["id"] and second["card_number"] != first["card_number"]
    (hit,) = _search(mail_app, EMAIL)
    assert hit.member_id == second["id"] and not hit.closed


def _account_id(app, member_id: int) -> int:
    with runtime(app).sessions() as session:
        member = session.get(Member, member_id)
        assert member is not None
        return member.account.id


def _audits(app, action: str) -> list[AuditEvent]:
    with runtime(app).sessions() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def _events(app, kind: str) -> list[OutboxEvent]:
    with runtime(app).sessions() as session:
        return list(session.scalars(select(OutboxEvent).where(OutboxEvent.kind == kind)))


def test_the_cli_finds_and_erases(mail_app, smtp):
    number = enroll(mail_app.test_client(), smtp, EMAIL, name="Dana Scully")["member"][
        "card_number"
    ]
    runner = mail_app.test_cli_runner()

    found = runner.invoke(args=["members", "find", EMAIL.upper()])
    refused = runner.invoke(args=["members", "erase", number])
    erased = runner.invoke(args=["members", "erase", number, "--yes"])
    again = runner.invoke(args=["members", "erase", number, "--yes"])
    gone = runner.invoke(args=["members", "find", EMAIL])

    assert found.exit_code == 0 and number in found.output and "Dana Scully" in found.output
    assert refused.exit_code != 0 and "--yes" in refused.output
    assert erased.exit_code == 0 and "membership closed" in erased.output
    assert again.exit_code == 0 and "already closed" in again.output
    assert gone.exit_code == 0 and "no member found" in gone.output
    (audit,) = _audits(mail_app, "member.erased")
    assert audit.actor == "cli"
