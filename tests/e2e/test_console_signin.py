"""The console in real headless Chromium: set a password, turn on two-step sign-in, sign in with
the code and see the home page (screenshots at 1280 and 390 px in the test's tmp folder)."""

from __future__ import annotations

import time

import pyotp

from gateway.runtime import runtime
from gateway.services.console import operators
from tests.browser import chromium_page, served
from tests.fakes.smtp_server import free_port

PASSWORD = "correct horse battery"


def test_sign_in_with_a_second_factor_and_see_the_home_page(make_app, tmp_path):
    port = free_port()
    app = make_app(PUBLIC_BASE_URL=f"http://127.0.0.1:{port}")
    with runtime(app).sessions() as session:
        _, link = operators.create_operator(session, "boss@example.com", "admin", "test")
    with served(app, port) as base, chromium_page() as page:
        page.set_viewport_size({"width": 1280, "height": 800})
        page.goto(base + operators.set_password_path(link.token))
        page.fill("#password", PASSWORD)
        page.fill("#confirm", PASSWORD)
        page.click("#save-password")
        page.wait_for_selector("text=Password saved")

        page.goto(f"{base}/console/login")
        page.screenshot(path=str(tmp_path / "login-1280.png"), full_page=True)
        page.fill("#email", "boss@example.com")
        page.fill("#password", PASSWORD)
        page.click("#sign-in")
        page.wait_for_selector("#welcome")

        page.goto(f"{base}/console/account/2fa")
        secret = page.text_content("#secret")
        assert secret
        assert page.evaluate("document.getElementById('qr').naturalWidth") > 0  # CSP let it load
        totp = pyotp.TOTP(secret)
        page.fill("#code", totp.now())
        page.click("#confirm-code")
        page.wait_for_selector("#two-factor-state")
        page.click("#sign-out")
        page.wait_for_selector("#ended")

        page.fill("#email", "boss@example.com")
        page.fill("#password", PASSWORD)
        page.fill("#code", totp.at(time.time() + 30))  # the enrolment used this step's code
        page.click("#sign-in")
        page.wait_for_selector("#welcome")
        assert page.text_content("#signed-in-as") == "boss@example.com"
        assert page.text_content("#signed-in-role") == "admin"
        assert "Two-step sign-in is on." in page.text_content("main")
        page.screenshot(path=str(tmp_path / "home-1280.png"), full_page=True)

        page.set_viewport_size({"width": 390, "height": 844})
        page.reload()
        page.screenshot(path=str(tmp_path / "home-390.png"), full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.click("#sign-out")
        page.wait_for_selector("#ended")
        page.screenshot(path=str(tmp_path / "login-390.png"), full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
