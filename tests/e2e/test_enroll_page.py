"""The customer enrollment page in real headless Chromium, from contact to wallet buttons."""

from __future__ import annotations

import io

import pytest
import requests
import segno

from tests.browser import chromium_page, served
from tests.factories import demo_program
from tests.fakes.smtp_server import FakeSmtpServer, free_port


@pytest.fixture
def smtp():
    with FakeSmtpServer() as server:
        yield server


def test_customer_enrolls_on_the_page_and_gets_both_wallet_links(make_app, smtp):
    port = free_port()
    app = make_app(
        NOTIFIER="smtp",
        SMTP_HOST=smtp.host,
        SMTP_PORT=smtp.port,
        PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
    )
    demo_program(app)
    with served(app, port) as base, chromium_page() as page:
        page.goto(f"{base}/enroll/demo")
        page.fill("#email", "ana@example.com")
        page.click("text=Get my card")
        assert page.text_content("#contact-error") == "Please accept the terms."
        page.check("#terms")
        page.click("text=Get my card")
        page.wait_for_selector("#step-code:not([hidden])")

        page.fill(
            "#code", "000000" if smtp.last_code_for("ana@example.com") != "000000" else "111111"
        )
        page.click("text=Confirm")
        # Selector waits, not wait_for_function: the page's CSP forbids string eval.
        page.wait_for_selector("#code-error:not(:empty)")
        assert "not correct" in page.text_content("#code-error")

        page.fill("#code", smtp.last_code_for("ana@example.com"))
        page.click("text=Confirm")
        page.wait_for_selector("#step-done:not([hidden])")
        assert "Welcome back" in page.text_content("#welcome")
        assert page.text_content("#card-number") == "7000000000000013"
        assert page.text_content("#balance") == "2000"
        apple = page.get_attribute("#apple-link", "href")
        google = page.get_attribute("#google-link", "href")
        download = requests.get(apple, timeout=10)
    assert download.status_code == 200
    assert download.headers["Content-Type"] == "application/vnd.apple.pkpass"
    assert google.startswith("https://pay.google.com/gp/v/save/")


def test_unknown_program_page_is_a_json_404(client):
    response = client.get("/enroll/nope")
    assert response.status_code == 404
    assert response.json["error"]["code"] == "unknown_program"


def test_enroll_page_qr_code_encodes_the_page_url(app, client):
    demo_program(app)
    response = client.get("/enroll/demo/qr.svg")
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    expected = io.BytesIO()
    segno.make("https://gateway.test/enroll/demo", error="m").save(
        expected, kind="svg", scale=6, border=2
    )
    assert response.data == expected.getvalue()
    assert client.get("/enroll/nope/qr.svg").status_code == 404
