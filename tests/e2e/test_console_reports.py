"""The reports page in real headless Chromium on a seeded history: every chart drawn (a canvas
with pixels on it), the tables with the expected numbers, the date range and the store filter
changed, a CSV downloaded and equal to its table; screenshots at 1280 and 390 px."""

from __future__ import annotations

import csv
from datetime import date, timedelta

from tests.browser import chromium_page, served
from tests.console_helpers import PASSWORD, make_operator
from tests.fakes.smtp_server import free_port
from tests.integration.test_report_figures import seed_history

CANVAS_HAS_PIXELS = """(id) => {
  const canvas = document.getElementById(id);
  if (!canvas || canvas.dataset.drawn !== 'true' || !canvas.width) return false;
  const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  for (let i = 3; i < data.length; i += 4) { if (data[i] !== 0) return true; }
  return false;
}"""

TABLE = """(key) => Array.from(document.querySelectorAll(`table[data-table="${key}"] tr`))
  .map(tr => Array.from(tr.children).map(cell => cell.textContent.trim()))"""


def _sign_in(page, base: str) -> None:
    page.goto(f"{base}/console/login")
    page.fill("#email", "marketer@example.com")
    page.fill("#password", PASSWORD)
    page.click("#sign-in")
    page.wait_for_selector("#welcome")


def _charts_drawn(page) -> list[str]:
    keys = page.eval_on_selector_all("canvas[id^=canvas-]", "els => els.map(e => e.id)")
    assert keys
    for key in keys:
        assert page.evaluate(CANVAS_HAS_PIXELS, key), key
    return [key.removeprefix("canvas-") for key in keys]


def test_an_operator_reads_the_dashboard_filters_it_and_downloads_a_csv(make_app, tmp_path):
    port = free_port()
    app = make_app(PUBLIC_BASE_URL=f"http://127.0.0.1:{port}")
    history = seed_history(app)
    make_operator(app, "marketer@example.com", "marketer")
    problems: list[str] = []
    with served(app, port) as base, chromium_page() as page:
        page.on(
            "console",
            lambda m: (
                problems.append(f"{m.location.get('url')}: {m.text}") if m.type == "error" else None
            ),
        )
        page.on("requestfailed", lambda r: problems.append(f"failed: {r.url}"))
        page.on("response", lambda r: problems.append(r.url) if r.status >= 400 else None)
        page.set_viewport_size({"width": 1280, "height": 900})
        _sign_in(page, base)
        page.click("#console-nav >> text=Reports")
        page.wait_for_selector("#figures")
        page.goto(f"{base}/console/reports?program=demo&from={history.first}&to={history.last}")
        drawn = _charts_drawn(page)
        assert {"enrollments", "passes", "scans", "sales", "points", "budgets"} <= set(drawn)
        outstanding = page.text_content('[data-figure="outstanding_points"] .value')
        assert outstanding == "382"
        scans = {row[0]: row for row in page.evaluate(TABLE, "scans")[1:]}
        la_eve = (history.base.date() - timedelta(days=1)).isoformat()
        assert scans[la_eve][1:] == ["1", "1", "0", "0", "1", "0", "0"]
        page.screenshot(path=str(tmp_path / "reports-1280.png"), full_page=True)

        # A shorter range: one row a day.
        start = (date.fromisoformat(history.last) - timedelta(days=2)).isoformat()
        page.fill("#from", start)
        page.click("#apply")
        page.wait_for_url(f"**from={start}**")
        assert len(page.evaluate(TABLE, "points")) == 1 + 3
        _charts_drawn(page)

        # One store: only its figures, on its day.
        page.fill("#from", history.first)
        page.select_option("#store", "LAX1")
        page.click("#apply")
        page.wait_for_url("**store=LAX1**")
        by_store = page.evaluate(TABLE, "scans_by_store")
        assert [row[0] for row in by_store[1:]] == ["Los Angeles (LAX1)"]
        assert by_store[1][1:] == ["3", "1", "0", "0", "1", "0", "2"]
        _charts_drawn(page)

        with page.expect_download() as waiting:
            page.click("#chart-sales a.csv")
        download = waiting.value
        assert download.suggested_filename.startswith("demo-LAX1-sales-")
        with open(download.path(), newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
        assert rows == page.evaluate(TABLE, "sales")

        page.set_viewport_size({"width": 390, "height": 844})
        page.reload()
        _charts_drawn(page)
        page.screenshot(path=str(tmp_path / "reports-390.png"), full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
    # The browser's own favicon request is not the page's (the gateway serves none).
    assert [p for p in problems if "/favicon.ico" not in p] == []
