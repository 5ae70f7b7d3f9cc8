"""The reports page through the test client: roles, the date range and store filter, bad input
(a clear 422 or 404, never a 500), the streamed CSV of each chart, and the events the reports
count that the gateway now records (Apple unregistrations, the enrollment's outcome)."""

from __future__ import annotations

import csv
import io
import re

import pytest
from sqlalchemy import select

from gateway.models.enrollment import Enrollment
from gateway.models.pos import Store
from gateway.models.program import Program
from gateway.models.report import AppleRegistrationEvent
from gateway.runtime import runtime
from tests.api.enrollment_helpers import enroll
from tests.api.test_apple_web_service import BASE, DEVICE, _register, apple  # noqa: F401
from tests.console_helpers import signed_in_client
from tests.integration.test_report_figures import History, seed_history


def _query(history: History, **extra: str) -> str:
    params = {"program": "demo", "from": history.first, "to": history.last, **extra}
    return "&".join(f"{key}={value}" for key, value in params.items())


def _table(page: str, key: str) -> list[list[str]]:
    block = re.search(rf'<table data-table="{key}">(.*?)</table>', page, re.S)
    assert block, key
    rows = re.findall(r"<tr>(.*?)</tr>", block.group(1), re.S)
    return [re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S) for row in rows]


@pytest.fixture
def history(app):
    return seed_history(app)


def test_marketer_sees_every_chart_with_its_table_and_a_csv_link(app, history):
    client = signed_in_client(app, "marketer")
    answer = client.get(f"/console/reports?{_query(history)}")
    page = answer.get_data(as_text=True)
    assert answer.status_code == 200
    assert 'href="/console/reports"' in page  # the nav entry
    for key in ("enrollments", "passes", "scans", "sales", "points", "budgets"):
        assert f'id="canvas-{key}"' in page
        assert f"/console/reports/{key}.csv?" in page
    nonce = re.search(r"script-src 'nonce-([^']+)'", answer.headers["Content-Security-Policy"])
    assert nonce
    scripts = re.findall(r'<script nonce="([^"]+)" src="([^"]+)"', page)
    assert [src for _, src in scripts] == [
        "/static/vendor/chartjs/chart.umd.min.js",
        "/static/reports/dashboard.js",
    ]
    assert all(value == nonce.group(1) for value, _ in scripts)
    library = client.get("/static/vendor/chartjs/chart.umd.min.js")
    assert library.status_code == 200 and library.mimetype in (
        "text/javascript",
        "application/javascript",
    )
    assert b"Chart.js v4" in library.data
    library.close()
    assert "http://" not in page and "https://" not in page.replace("https://gateway.test", "")
    figures = dict(
        re.findall(
            r'data-figure="([^"]+)">\s*<div class="label">[^<]*</div>\s*'
            r'<div class="value">([^<]*)</div>',
            page,
        )
    )
    assert figures["outstanding_points"] == "382"
    assert figures["members_with_pass"] == "50.0 %"


def test_csv_is_streamed_and_equals_the_table(app, history):
    client = signed_in_client(app, "admin")
    page = client.get(f"/console/reports?{_query(history, store='LAX1')}").get_data(as_text=True)
    for key in ("scans", "sales", "points", "redemptions_by_reward"):
        answer = client.get(f"/console/reports/{key}.csv?{_query(history, store='LAX1')}")
        assert answer.status_code == 200
        assert answer.is_streamed
        assert answer.mimetype == "text/csv"
        assert "attachment" in answer.headers["Content-Disposition"]
        assert "LAX1" in answer.headers["Content-Disposition"]
        rows = list(csv.reader(io.StringIO(answer.get_data(as_text=True))))
        assert rows == _table(page, key), key


def test_support_may_not_see_reports_and_visitors_sign_in(app, history):
    support = signed_in_client(app, "support")
    assert support.get("/console/reports").status_code == 403
    assert support.get(f"/console/reports/scans.csv?{_query(history)}").status_code == 403
    assert 'href="/console/reports"' not in support.get("/console").get_data(as_text=True)
    visitor = app.test_client()
    answer = visitor.get("/console/reports")
    assert answer.status_code == 302 and "/console/login" in answer.headers["Location"]


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        ("2026-03-10", "2026-03-01", "The start date is after the end date"),
        ("2023-01-01", "2026-01-01", "at most two years"),
        ("01/03/2026", "2026-03-10", "Enter the start date as YYYY-MM-DD"),
        ("2026-02-30", "2026-03-10", "Enter the start date as YYYY-MM-DD"),
        ("2026-03-01", "tomorrow", "Enter the end date as YYYY-MM-DD"),
    ],
)
def test_a_bad_range_is_a_clear_message_keeping_what_was_typed(app, history, start, end, message):
    client = signed_in_client(app, "marketer")
    answer = client.get(f"/console/reports?program=demo&from={start}&to={end}")
    page = answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert message in page
    assert f'value="{start}"' in page and f'value="{end}"' in page
    assert 'id="figures"' not in page
    csv_answer = client.get(f"/console/reports/scans.csv?program=demo&from={start}&to={end}")
    assert csv_answer.status_code == 422
    assert message in csv_answer.get_data(as_text=True)


def test_programs_stores_and_charts_the_operator_cannot_see_are_404(app, history):
    with runtime(app).sessions() as session:
        other = Program(
            slug="other",
            name="Other",
            organization="O",
            apple_pass_type_id="pass.o",
            apple_team_id="T",
            google_issuer_id="1",
            google_class_suffix="o",
        )
        session.add(other)
        session.flush()
        session.add(Store(program_id=other.id, code="ELSE1", name="Elsewhere"))
        session.commit()
    client = signed_in_client(app, "admin")
    assert client.get("/console/reports?program=nope").status_code == 404
    assert client.get("/console/reports?program=demo&store=ELSE1").status_code == 404
    assert client.get("/console/reports?program=demo&store=NOPE").status_code == 404
    assert client.get("/console/reports/nope.csv?program=demo").status_code == 404
    assert client.get("/console/reports/scans.csv?program=demo&store=ELSE1").status_code == 404
    assert client.get("/console/reports?program=other").status_code == 200


def test_without_programs_the_page_says_so(app):
    client = signed_in_client(app, "admin")
    answer = client.get("/console/reports")
    assert answer.status_code == 200
    assert 'id="no-programs"' in answer.get_data(as_text=True)


def test_apple_registrations_and_unregistrations_are_kept_for_the_reports(app, client, apple):  # noqa: F811
    _, serial, pass_type, auth = apple
    assert _register(client, pass_type, serial, auth).status_code == 201
    assert _register(client, pass_type, serial, auth).status_code == 200  # not a new one
    path = f"{BASE}/devices/{DEVICE}/registrations/{pass_type}/{serial}"
    assert client.delete(path, headers=auth).status_code == 200
    assert client.delete(path, headers=auth).status_code == 200  # nothing left to remove
    with runtime(app).sessions() as session:
        events = [e.event for e in session.scalars(select(AppleRegistrationEvent))]
    assert events == ["registered", "unregistered"]


def test_the_enrollment_keeps_its_outcome(mail_app, smtp):
    client = mail_app.test_client()
    enroll(client, smtp, "new-member@example.com")
    with runtime(mail_app).sessions() as session:
        enrollment = session.scalars(select(Enrollment)).one()
        assert enrollment.status == "verified"
        assert enrollment.result == {"digitized_existing": False}
