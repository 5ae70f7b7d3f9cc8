"""Operators and two-step sign-in in real headless Chromium: an admin creates an operator and
hands over the set-password link; the operator turns two-step sign-in on by reading the key
under the QR code, is refused with a wrong code, signs in with the current one and turns it off
again with a code; an admin turns off a lost second factor; API keys are created and revoked.
Pages are checked at 1280 px and 390 px (screenshots in the test's tmp folder)."""

from __future__ import annotations

import re
import time
from typing import Any

import pyotp

from tests.browser import chromium_page, served
from tests.console_helpers import PASSWORD, make_operator
from tests.fakes.smtp_server import free_port

STEP = 30


class Authenticator:
    """The operator's phone: current codes, never one of a step already used."""

    def __init__(self, secret: str) -> None:
        self.totp = pyotp.TOTP(secret, interval=STEP)
        self.last_step = -1

    def code(self) -> str:
        """A code the gateway accepts now: the current step's, or the next one's when the
        current one was used (waiting for the clock when even that was used)."""
        step = max(int(time.time()) // STEP, self.last_step + 1)
        while step > int(time.time()) // STEP + 1:  # beyond the accepted drift: let time pass
            time.sleep(0.5)
        self.last_step = step
        return self.totp.at(step * STEP)


def sign_in(page: Any, base: str, email: str, code: str = "") -> None:
    page.goto(f"{base}/console/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.fill("#code", code)
    page.click("#sign-in")


def sign_out(page: Any) -> None:
    page.click("#sign-out")
    page.wait_for_selector("#ended")


def fits(page: Any, width: int) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth") <= width)


def test_operators_turn_two_step_sign_in_on_and_off(make_app, tmp_path):
    port = free_port()
    app = make_app(PUBLIC_BASE_URL=f"http://127.0.0.1:{port}")
    make_operator(app, "boss@example.com", "admin")
    with served(app, port) as base, chromium_page() as page:
        page.set_viewport_size({"width": 1280, "height": 800})
        # The admin creates Sam and is shown the one-time link.
        sign_in(page, base, "boss@example.com")
        page.wait_for_selector("#welcome")
        page.click("text=Operators")
        page.fill("#new-email", "sam@example.com")
        page.select_option("#new-role", "support")
        page.click("#create-operator-button")
        link = page.text_content("#password-link")
        assert link and link.startswith(f"{base}/console/set-password/")
        page.screenshot(path=str(tmp_path / "operator-created-1280.png"), full_page=True)
        sign_out(page)

        # Sam sets a password and turns on two-step sign-in with the key under the QR code.
        page.goto(link)
        page.fill("#password", PASSWORD)
        page.fill("#confirm", PASSWORD)
        page.click("#save-password")
        page.wait_for_selector("text=Password saved")
        sign_in(page, base, "sam@example.com")
        page.wait_for_selector("#welcome")
        page.click("text=turn it on")
        secret = page.text_content("#secret")
        assert secret
        phone = Authenticator(secret.strip())
        page.fill("#code", phone.code())
        page.click("#confirm-code")
        page.wait_for_selector("#two-factor-state")
        sign_out(page)

        # A wrong code is refused; the current one lets Sam in.
        sign_in(page, base, "sam@example.com", "000000")
        assert "That did not work" in (page.text_content("#error") or "")
        sign_in(page, base, "sam@example.com", phone.code())
        page.wait_for_selector("#welcome")
        assert "Two-step sign-in is on." in (page.text_content("main") or "")

        # Turning it off asks for a current code; a wrong one changes nothing.
        page.goto(f"{base}/console/account/2fa")
        page.click("#turn-off-link")
        page.fill("#code", "000000")
        page.click("#turn-off")
        assert "not right" in (page.text_content("#error") or "")
        page.set_viewport_size({"width": 390, "height": 844})
        page.screenshot(path=str(tmp_path / "two-factor-off-390.png"), full_page=True)
        assert fits(page, 390)
        page.set_viewport_size({"width": 1280, "height": 800})
        page.fill("#code", phone.code())
        page.click("#turn-off")
        page.wait_for_selector("#two-factor-off")
        sign_out(page)
        sign_in(page, base, "sam@example.com")  # the password alone now
        page.wait_for_selector("#welcome")
        assert "Two-step sign-in is off" in (page.text_content("main") or "")

        # Sam turns it on again and loses the phone: an admin turns it off.
        page.click("text=turn it on")
        secret = page.text_content("#secret")
        assert secret
        page.fill("#code", Authenticator(secret.strip()).code())
        page.click("#confirm-code")
        page.wait_for_selector("#two-factor-state")
        sign_out(page)
        sign_in(page, base, "boss@example.com")
        page.wait_for_selector("#welcome")
        page.set_viewport_size({"width": 390, "height": 844})
        page.goto(f"{base}/console/operators")
        row = page.locator('tr[data-operator="sam@example.com"]')
        assert "on" in (row.locator('td[data-label="Two-step"]').text_content() or "")
        page.screenshot(path=str(tmp_path / "operators-390.png"), full_page=True)
        assert fits(page, 390)
        row.locator("text=Turn off two-step").click()
        notice = page.text_content("#notice") or ""
        assert "Two-step sign-in of sam@example.com is off" in notice
        sign_out(page)
        sign_in(page, base, "sam@example.com")
        page.wait_for_selector("#welcome")
        sign_out(page)


def test_an_admin_creates_and_revokes_an_api_key(make_app, tmp_path):
    port = free_port()
    app = make_app(PUBLIC_BASE_URL=f"http://127.0.0.1:{port}")
    make_operator(app, "boss@example.com", "admin")
    with served(app, port) as base, chromium_page() as page:
        page.set_viewport_size({"width": 1280, "height": 800})
        sign_in(page, base, "boss@example.com")
        page.wait_for_selector("#welcome")
        page.click("text=Admin API keys")
        page.wait_for_selector("#no-keys")
        page.fill("#key-name", "Nightly export")
        page.select_option("#key-scope", "marketer")
        page.click("#create-key-button")
        secret = page.text_content("#api-key-secret") or ""
        assert re.fullmatch(r"gwa_[A-Za-z0-9_-]{43}", secret)
        assert page.is_visible("#copy-key")  # 127.0.0.1 is a secure context: the button shows
        page.screenshot(path=str(tmp_path / "api-key-created-1280.png"), full_page=True)
        page.click("text=Back to API keys")
        assert secret not in page.content()
        page.set_viewport_size({"width": 390, "height": 844})
        page.screenshot(path=str(tmp_path / "api-keys-390.png"), full_page=True)
        assert fits(page, 390)
        page.click("[id^=revoke-]")
        assert "is revoked" in (page.text_content("#notice") or "")
        assert "revoked" in (page.text_content("table#api-keys") or "")
