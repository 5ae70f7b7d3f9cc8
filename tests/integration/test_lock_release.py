"""Operators lift scan locks: `cards unlock` and `terminals unlock`, checked through real scans."""

from sqlalchemy import select

from gateway.adapters.crm import CrmMemberRecord
from gateway.models.outbox import AuditEvent
from gateway.models.program import Program
from gateway.runtime import runtime
from gateway.services.issue.issuance import ContactFacts, ensure_member
from gateway.services.issue.programs import ProgramSpec, create_program
from passes.codes import format_scan, luhn_check_digit
from tests.factories import enroll_member
from tests.integration.conftest import new_till


def _run(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


def _unlocked_line(app, *args):
    """Run an unlock command that lifts a lock: exit 0, one line naming the lock's end."""
    result = _run(app, *args)
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].endswith("Z)"), result.output
    return lines[0]


def _audit(app, action):
    with runtime(app).sessions() as session:
        rows = session.scalars(select(AuditEvent).where(AuditEvent.action == action))
        return [(row.actor, row.subject) for row in rows]


def _error_code(response):
    body = response.get_json()
    assert body is not None, response
    return body["error"]["code"]


def _unknown_scans(count):
    numbers = [f"79999999999999{i}" for i in range(count)]
    return [format_scan(n + luhn_check_digit(n), "12345678") for n in numbers]


def _assert_one_line_error(result, *words):
    assert result.exit_code != 0
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    for word in words:
        assert word in lines[0]


def test_unlocked_card_scans_again_and_old_failures_do_not_relock_it(make_app):
    app = make_app(SCAN_FAILURE_LIMIT=3)
    till = new_till(app)
    member = enroll_member(app)
    wrong = format_scan(member.card_number, "00000000")
    assert [till.identify(wrong).status_code for _ in range(3)] == [422, 422, 423]
    locked = till.identify(member.google_scan())
    assert locked.status_code == 423
    assert _error_code(locked) == "card_locked"

    line = _unlocked_line(app, "cards", "unlock", member.card_number)
    assert line.startswith(f"card {member.card_number} (program demo) unlocked (lock was until ")
    assert _audit(app, "card.unlocked") == [("operator", f"card:{member.card_number}")]

    assert till.identify(member.google_scan()).status_code == 200
    # The three failures before the unlock are not counted again: one more is just a rejection.
    again = till.identify(wrong)
    assert again.status_code == 422
    assert _error_code(again) == "code_rejected"
    assert till.identify(member.apple_scan()).status_code == 200
    assert _audit(app, "card.locked") == [
        (f"terminal:{till.terminal_id}", f"card:{member.card_number}")
    ]


def test_card_that_is_not_locked_and_unknown_numbers(app):
    till = new_till(app)
    member = enroll_member(app)
    assert till.identify(format_scan(member.card_number, "00000000")).status_code == 422

    result = _run(app, "cards", "unlock", member.card_number)
    assert result.exit_code == 0, result.output
    assert result.output.strip() == (
        f"card {member.card_number} (program demo) was not locked: nothing to do"
    )
    assert _audit(app, "card.unlocked") == []

    _assert_one_line_error(_run(app, "cards", "unlock", "7000000000000001"), "not found")
    _assert_one_line_error(
        _run(app, "cards", "unlock", member.card_number, "--program", "nope"),
        "not found",
        "'nope'",
    )
    assert _audit(app, "card.unlocked") == []


def test_a_number_in_several_programs_needs_the_program(app):
    member = enroll_member(app)
    rt = runtime(app)
    with app.app_context(), rt.sessions() as session:
        demo = session.scalar(select(Program).where(Program.slug == "demo"))
        assert demo is not None
        other = create_program(
            session,
            ProgramSpec(
                slug="other",
                name="Other",
                organization="Other Co",
                apple_pass_type_id=demo.apple_pass_type_id,
                apple_team_id=demo.apple_team_id,
                google_issuer_id="1",
            ),
        )
        session.commit()
        crm = CrmMemberRecord(
            crm_id="other-1",
            email="other@example.com",
            phone=None,
            name="Other Member",
            card_number=member.card_number,
            balance=0,
            tier="",
            discount_percent=0,
        )
        facts = ContactFacts(
            "email", "other@example.com", "Other Member", "en", True, False, "api", "t"
        )
        ensure_member(session, rt.secret_box, other, crm, facts)
        session.commit()

    _assert_one_line_error(
        _run(app, "cards", "unlock", member.card_number), "several programs", "--program"
    )
    chosen = _run(app, "cards", "unlock", member.card_number, "--program", "other")
    assert chosen.exit_code == 0, chosen.output
    assert "(program other) was not locked" in chosen.output


def test_unlocked_terminal_scans_again(make_app):
    app = make_app(TERMINAL_SCAN_FAILURE_LIMIT=3)
    till = new_till(app)
    member = enroll_member(app)
    unknown = _unknown_scans(4)
    assert [till.identify(scan).status_code for scan in unknown] == [404, 404, 404, 429]
    blocked = till.identify(member.google_scan())
    assert blocked.status_code == 429
    assert _error_code(blocked) == "rate_limited"

    prefix = till.key[:12]
    line = _unlocked_line(app, "terminals", "unlock", prefix)
    assert line.startswith(f"terminal {till.terminal_id} ({prefix}...) unlocked (lock was until ")
    assert _audit(app, "terminal.unlocked") == [("cli", f"terminal:{till.terminal_id}")]

    assert till.identify(member.google_scan()).status_code == 200
    # The failures before the unlock are not counted again.
    assert till.identify(unknown[0]).status_code == 404
    assert till.identify(member.apple_scan()).status_code == 200

    again = _run(app, "terminals", "unlock", str(till.terminal_id))
    assert again.exit_code == 0, again.output
    assert "was not locked" in again.output
    assert len(_audit(app, "terminal.unlocked")) == 1
    _assert_one_line_error(_run(app, "terminals", "unlock", "gwt_unknown"), "not found")
