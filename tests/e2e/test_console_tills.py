"""Stores and tills in real headless Chromium: sign in, create a store and a till in the console,
follow the link behind the till's QR code and find the cashier page ready with the key, which is
neither in the address bar nor in any request the browser sent; the till then scans a card and
the console shows when it was last seen (screenshots at 1280 and 390 px in the tmp folder)."""

from __future__ import annotations

from flask import request
from sqlalchemy import select

from gateway.models.pos import Terminal
from gateway.runtime import runtime
from tests.browser import chromium_page, served
from tests.console_helpers import PASSWORD, make_operator
from tests.factories import demo_program, enroll_member
from tests.fakes.smtp_server import free_port


def test_create_a_store_and_a_till_and_open_the_cashier_page_from_its_qr(make_app, tmp_path):
    port = free_port()
    app = make_app(PUBLIC_BASE_URL=f"http://127.0.0.1:{port}")
    demo_program(app)
    member = enroll_member(app, balance=700)
    make_operator(app, "lead@example.com", "marketer")
    received: list[str] = []

    @app.before_request
    def _record() -> None:  # what reached the server: path, query and Referer
        received.append(f"{request.full_path} {request.headers.get('Referer', '')}")

    with served(app, port) as base, chromium_page() as page:
        page.set_viewport_size({"width": 1280, "height": 800})
        page.goto(f"{base}/console/login")
        page.fill("#email", "lead@example.com")
        page.fill("#password", PASSWORD)
        page.click("#sign-in")
        page.wait_for_selector("#welcome")

        page.click("#console-nav >> text=Stores and tills")
        page.wait_for_selector("#no-stores")
        page.click("#new-store")
        page.fill("#code", "MAIN")
        page.fill("#name", "Main street")
        page.fill("#address", "1 Main street")
        page.fill("#timezone", "Europe/Madrid")
        page.fill("#latitude", "40.4168")
        page.fill("#longitude", "-3.7038")
        page.screenshot(path=str(tmp_path / "store-form-1280.png"), full_page=True)
        page.click("#save-store")
        page.wait_for_selector("#no-tills")
        assert page.text_content("#store-timezone") == "Europe/Madrid"

        page.fill("#till-name", "Till 1")
        page.click("#create-till")
        page.wait_for_selector("#till-key")
        key = page.text_content("#till-key")
        assert key and key.startswith("gwt_")
        assert page.evaluate("document.getElementById('till-qr').naturalWidth") > 0  # CSP let it
        link = page.get_attribute("#cashier-link", "href")
        assert link == f"{base}/cashier#key={key}"
        page.screenshot(path=str(tmp_path / "till-created-1280.png"), full_page=True)
        page.set_viewport_size({"width": 390, "height": 844})
        page.screenshot(path=str(tmp_path / "till-created-390.png"), full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390

        page.goto(link)
        page.wait_for_selector("#terminal-state:text-is('terminal ready')")
        assert page.url == f"{base}/cashier"  # the key left the address bar
        assert page.evaluate("sessionStorage.getItem('terminalKey')") == key
        assert page.input_value("#terminal-key") == ""
        page.fill("#scan", member.google_scan())
        page.press("#scan", "Enter")
        page.wait_for_selector("#customer:not([hidden])")
        assert page.text_content("#balance-points") == "700"
        assert page.text_content("#card-number") == member.card_number

        page.goto(f"{base}/console/stores/MAIN/tills")
        row = page.locator("#tills tbody tr").first
        assert "Till 1" in row.text_content()
        assert row.locator(".last-seen time").count() == 1  # seen: not "never"
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.screenshot(path=str(tmp_path / "store-390.png"), full_page=True)
        page.set_viewport_size({"width": 1280, "height": 800})
        page.screenshot(path=str(tmp_path / "store-1280.png"), full_page=True)
    assert any(line.startswith("/cashier?") for line in received)
    assert not [line for line in received if key in line]
    with runtime(app).sessions() as session:
        terminal = session.scalars(select(Terminal)).one()
        assert terminal.last_seen_at is not None
