"""Used codes and failed scans are purged once they cannot matter; fresh ones stay and keep
guarding against replays and keep re-scans working."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select

from gateway.models.pos import ScanFailure, UsedCode
from gateway.pos.scan_records import keep_for
from gateway.runtime import runtime
from gateway.services.chores.housekeeping import run_housekeeping
from passes.codes import format_scan
from tests.factories import enroll_member
from tests.integration.conftest import new_till


def _count(app, model) -> int:
    with runtime(app).sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def _age_all(app, by: timedelta) -> None:
    with runtime(app).sessions() as session:
        for code in session.scalars(select(UsedCode)):
            code.used_at -= by
        for failure in session.scalars(select(ScanFailure)):
            failure.at -= by
        session.commit()


def test_old_records_go_and_fresh_ones_still_refuse_a_replay(make_app):
    app = make_app()
    till = new_till(app)
    old_member, member = enroll_member(app), enroll_member(app)
    assert till.identify(old_member.apple_scan()).status_code == 200
    assert till.identify(format_scan(old_member.card_number, "00000000")).status_code == 422
    _age_all(app, timedelta(hours=25))
    scan = member.google_scan()
    assert till.identify(scan).status_code == 200
    assert (_count(app, UsedCode), _count(app, ScanFailure)) == (2, 1)

    result = app.test_cli_runner().invoke(args=["codes", "purge-used"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("purged 1 used code(s) and 1 failed scan(s) older than 1 day")
    assert (_count(app, UsedCode), _count(app, ScanFailure)) == (1, 0)
    other_till = new_till(app, "S2")
    replay = other_till.identify(scan)
    assert replay.status_code == 409
    assert replay.json["error"]["code"] == "code_already_used"
    # Running it again finds nothing more.
    assert run_housekeeping(runtime(app))["used_codes_purged"] == 0


def test_a_short_retention_never_cuts_below_the_checkout_and_lockout_spans(make_app):
    app = make_app(SCAN_RECORD_RETENTION_HOURS=0)
    rt = runtime(app)
    with rt.sessions() as session:
        kept = keep_for(session, rt.pos_settings)
    assert kept == timedelta(minutes=30)  # 15 min failure window + 15 min lock
    till = new_till(app)
    member = enroll_member(app)
    scan = member.google_scan()
    first = till.identify(scan)
    assert till.identify(format_scan(member.card_number, "00000000")).status_code == 422
    _age_all(app, timedelta(minutes=1))

    done = run_housekeeping(rt)
    assert (done["used_codes_purged"], done["scan_failures_purged"]) == (0, 0)
    again = till.identify(scan)  # the re-scan still finds its open checkout
    assert again.status_code == 200
    # (rebuilt from the used code's time, which the test moved a minute back)
    moved = datetime.fromisoformat(first.json["checkout"]["expires_at"]) - timedelta(minutes=1)
    assert again.json["checkout"]["expires_at"] == moved.strftime("%Y-%m-%dT%H:%M:%SZ")

    _age_all(app, timedelta(minutes=31))
    done = run_housekeeping(rt)
    assert (done["used_codes_purged"], done["scan_failures_purged"]) == (1, 1)
    assert (_count(app, UsedCode), _count(app, ScanFailure)) == (0, 0)
