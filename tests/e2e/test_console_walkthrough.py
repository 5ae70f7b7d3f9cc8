"""The README walk-through of issue 9 in real headless Chromium, from an empty gateway: the first
admin (made by `gateway operators create`) sets a password and signs in with a second factor,
creates a branded program with tiers, a reward, a store and a till; a customer enrolls on the
program's page; support adds points; the cashier redeems; support revokes the card (the till
refuses it) and replaces it (the new pass, from the mailed link, redeems). No SQL, no demo, no
service calls for the story's steps: only the browser, the CLI, the customer's phone (pass
downloads and the Apple web service) and the worker. Screenshots at 1280 and 390 px land in the
test's tmp folder."""

from __future__ import annotations

import io
import json
import re
import time
import zipfile
from pathlib import Path
from typing import Any

import pyotp
import requests
from PIL import Image
from sqlalchemy import func, select

from gateway.models.card import Card
from gateway.models.ledger import LedgerEntry
from gateway.models.member import Account
from gateway.runtime import runtime
from gateway.services.keep_live.outbox import deliver_pending
from tests.browser import chromium_page, served
from tests.conftest import AppFactory
from tests.fakes.smtp_server import FakeSmtpServer, free_port

PASSWORD = "correct horse battery"
WIDE = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


class Authenticator:
    """The admin's authenticator app: the current code, never one of a step already used."""

    def __init__(self, secret: str) -> None:
        self.totp = pyotp.TOTP(secret)
        self.last_step = -1

    def code(self) -> str:
        step = max(int(time.time()) // 30, self.last_step + 1)
        while step > int(time.time()) // 30 + 1:  # beyond the accepted drift: let time pass
            time.sleep(0.5)
        self.last_step = step
        return self.totp.at(step * 30)


class WalletApp:
    """The customer's Apple Wallet: holds the downloaded pass and fetches its updates through
    the pass's web service, as a phone does after a push."""

    def __init__(self) -> None:
        self.pass_json: dict[str, Any] = {}

    def add(self, url: str) -> None:
        answer = requests.get(url, timeout=10)
        assert answer.status_code == 200, answer.text
        assert answer.headers["Content-Type"] == "application/vnd.apple.pkpass"
        self.pass_json = _pass_json(answer.content)

    def update(self) -> int:
        """Fetch the latest pass as Wallet does; the web service's status code."""
        p = self.pass_json
        answer = requests.get(
            f"{p['webServiceURL'].rstrip('/')}/v1/passes/{p['passTypeIdentifier']}/"
            f"{p['serialNumber']}",
            headers={"Authorization": f"ApplePass {p['authenticationToken']}"},
            timeout=10,
        )
        if answer.status_code == 200:
            self.pass_json = _pass_json(answer.content)
        return answer.status_code

    def scan(self) -> str:
        """What the till's scanner reads off the pass's barcode."""
        return str(self.pass_json["barcodes"][0]["message"])


def _pass_json(pkpass: bytes) -> dict[str, Any]:
    data = json.loads(zipfile.ZipFile(io.BytesIO(pkpass)).read("pass.json"))
    assert isinstance(data, dict)
    return data


def _logo(path: Path) -> Path:
    out = io.BytesIO()
    image = Image.new("RGBA", (480, 150), (250, 204, 21, 255))  # Apple's @3x logo size
    image.paste((120, 53, 15, 255), (20, 20, 130, 130))
    image.save(out, format="PNG")
    path.write_bytes(out.getvalue())
    return path


def _shoot(page: Any, tmp_path: Path, name: str) -> None:
    """Screenshots at 1280 and 390 px; the page must fit the phone without sideways scrolling."""
    page.set_viewport_size(WIDE)
    page.screenshot(path=str(tmp_path / f"{name}-1280.png"), full_page=True)
    page.set_viewport_size(PHONE)
    page.screenshot(path=str(tmp_path / f"{name}-390.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, name
    page.set_viewport_size(WIDE)


def _sign_in(page: Any, base: str, email: str, code: str = "") -> None:
    page.goto(f"{base}/console/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    if code:
        page.fill("#code", code)
    page.click("#sign-in")
    page.wait_for_selector("#welcome")
    assert page.text_content("#signed-in-as") == email


def _set_password(page: Any, link: str) -> None:
    page.goto(link)
    page.fill("#password", PASSWORD)
    page.fill("#confirm", PASSWORD)
    page.click("#save-password")
    page.wait_for_selector("text=Password saved")


def _scan(cashier: Any, payload: str, expected: str) -> None:
    """Scan on the cashier page and wait for the answer it shows (the message of the previous
    scan stays until then)."""
    with cashier.expect_response("**/pos/v1/identify"):
        cashier.fill("#scan", payload)
        cashier.press("#scan", "Enter")
    cashier.wait_for_selector(f"#scan-message:text-is({expected!r})")


def test_from_an_empty_gateway_to_a_replaced_card(make_app: AppFactory, tmp_path: Path):
    port = free_port()
    with FakeSmtpServer() as smtp:
        app = make_app(
            NOTIFIER="smtp",
            SMTP_HOST=smtp.host,
            SMTP_PORT=smtp.port,
            PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
        )
        created = app.test_cli_runner().invoke(
            args=["operators", "create", "owner@example.com", "--role", "admin"]
        )
        assert created.exit_code == 0, created.output
        owner_link = created.output.strip().splitlines()[-1]
        with served(app, port) as base, chromium_page() as page:
            assert owner_link.startswith(f"{base}/console/set-password/")
            _walk_through(app, base, page, smtp, owner_link, tmp_path)

    # The one internal check: the card's ledger sums to the balance everyone was shown.
    with runtime(app).sessions() as session:
        account = session.scalars(
            select(Account).join(Card, Card.member_id == Account.member_id)
        ).one()
        total = session.scalar(
            select(func.sum(LedgerEntry.points)).where(LedgerEntry.account_id == account.id)
        )
        assert account.balance == total == 100


def _walk_through(
    app: Any, base: str, page: Any, smtp: FakeSmtpServer, owner_link: str, tmp_path: Path
) -> None:
    browser = page.context.browser
    page.set_viewport_size(WIDE)

    # 1. The first admin sets a password, turns on two-step sign-in and signs in with a code.
    _set_password(page, owner_link)
    _sign_in(page, base, "owner@example.com")
    page.goto(f"{base}/console/account/2fa")
    secret = page.text_content("#secret")
    assert secret
    phone_app = Authenticator(secret.strip())
    page.fill("#code", phone_app.code())
    page.click("#confirm-code")
    page.wait_for_selector("#two-factor-state")
    page.click("#sign-out")
    page.wait_for_selector("#ended")
    _sign_in(page, base, "owner@example.com", phone_app.code())
    assert "Two-step sign-in is on." in page.text_content("main")
    assert page.text_content("#signed-in-role") == "admin"

    # 2. A program with two tiers, in euros, green; then the logo, seen in the preview.
    page.click("#console-nav >> text=Programs and branding")
    page.wait_for_selector("#no-programs")
    page.click("#new-program")
    page.fill("#name", "Bean Counter Club")
    page.fill("#organization", "Bean Counter Ltd")
    page.fill("#slug", "bean-club")
    page.fill("#points_label", "Beans")
    page.select_option("#currency", "EUR")
    page.fill("#points_per_currency_unit", "1")
    page.fill("#background_color", "#0a7d3b")
    page.fill("input[name=tier-0-name]", "Regular")
    page.fill("input[name=tier-0-threshold]", "0")
    page.fill("input[name=tier-1-name]", "Gold")
    page.fill("input[name=tier-1-threshold]", "1000")
    page.fill("input[name=tier-1-earn_multiplier]", "1.5")
    page.fill("input[name=tier-1-discount_percent]", "5")
    _shoot(page, tmp_path, "1-program-form")
    page.click("#save-program")
    page.wait_for_selector("#saved")
    assert "Program created. Customers can enroll at /enroll/bean-club" in " ".join(
        page.text_content("#saved").split()
    )
    tiers = page.locator("#tiers tbody tr")
    assert tiers.nth(1).locator("input[name=tier-1-name]").input_value() == "Gold"
    assert page.input_value("input[name=tier-1-discount_percent]").startswith("5")

    page.click("#branding-link")
    page.set_input_files("#file-logo", str(_logo(tmp_path / "bean-logo.png")))
    page.click("#upload-images")
    page.wait_for_selector("text=All cards are up to date.")  # no card was issued yet
    page.click("text=Back to the pass images")
    page.wait_for_selector("#pp-apple-logo")
    page.wait_for_function("document.getElementById('pp-apple-logo').complete")
    logo_src = page.get_attribute("#pp-apple-logo", "src")
    assert logo_src and "bean-club" in logo_src
    assert page.evaluate("document.getElementById('pp-apple-logo').naturalWidth") == 480
    apple_bg = "getComputedStyle(document.getElementById('pp-apple')).backgroundColor"
    assert page.evaluate(apple_bg) == "rgb(10, 125, 59)"
    assert page.text_content("#pp-google-name") == "Bean Counter Club"
    _shoot(page, tmp_path, "2-branding")

    # 3. A reward that costs 100 beans.
    page.click("#console-nav >> text=Rewards and kill switches")
    page.wait_for_selector("#no-rewards")
    page.click("#new-reward")
    page.fill("#code", "espresso")
    page.fill("#name", "Espresso")
    page.fill("#cost_points", "100")
    page.click("#save-reward")
    page.wait_for_selector("#reward-espresso")
    assert "Espresso was created" in page.text_content("#flash")
    assert page.text_content("#redemptions-state") == "Redemptions are on"

    # 4. A store and a till; the cashier opens the page behind the till's QR code.
    page.click("#console-nav >> text=Stores and tills")
    page.wait_for_selector("#no-stores")
    page.click("#new-store")
    page.fill("#code", "MAIN")
    page.fill("#name", "Main street")
    page.fill("#address", "1 Main street")
    page.fill("#timezone", "Europe/Madrid")
    page.fill("#latitude", "40.4168")
    page.fill("#longitude", "-3.7038")
    page.click("#save-store")
    page.wait_for_selector("#no-tills")
    page.fill("#till-name", "Till 1")
    page.click("#create-till")
    page.wait_for_selector("#till-key")
    assert page.evaluate("document.getElementById('till-qr').naturalWidth") > 0
    cashier_link = page.get_attribute("#cashier-link", "href")
    assert cashier_link and cashier_link.startswith(f"{base}/cashier#key=gwt_")
    _shoot(page, tmp_path, "4-till-created")
    cashier = browser.new_page()
    cashier.goto(cashier_link)
    cashier.wait_for_selector("#terminal-state:text-is('terminal ready')")
    assert cashier.url == f"{base}/cashier"

    # 5. A customer enrolls on the program's page and adds the card to Apple Wallet.
    customer = browser.new_page()
    customer.set_viewport_size(PHONE)
    customer.goto(f"{base}/enroll/bean-club")
    customer.fill("#email", "maria@example.com")
    customer.fill("#name", "Maria Lopez")
    customer.check("#terms")
    customer.click("text=Get my card")
    customer.wait_for_selector("#step-code:not([hidden])")
    customer.fill("#code", smtp.last_code_for("maria@example.com"))
    customer.click("text=Confirm")
    customer.wait_for_selector("#step-done:not([hidden])")
    card_number = customer.text_content("#card-number")
    assert card_number and card_number.isdigit()
    assert customer.text_content("#balance") == "0"
    customer.screenshot(path=str(tmp_path / "5-enrolled-390.png"), full_page=True)
    first_link = customer.get_attribute("#apple-link", "href")
    wallet = WalletApp()
    wallet.add(first_link)
    assert wallet.pass_json["organizationName"] == "Bean Counter Ltd"
    assert card_number in wallet.scan()

    # 6. The admin creates a support operator, who finds the member and adds 300 beans.
    page.click("#console-nav >> text=Operators")
    page.fill("#new-email", "desk@example.com")
    page.select_option("#new-role", "support")
    page.click("#create-operator-button")
    desk_link = page.text_content("#password-link")
    assert desk_link and desk_link.startswith(f"{base}/console/set-password/")
    support = browser.new_page()
    support.set_viewport_size(WIDE)
    _set_password(support, desk_link)
    _sign_in(support, base, "desk@example.com")
    assert support.text_content("#signed-in-role") == "support"
    support.click("#console-nav >> text=Members and cards")
    support.fill("#q", "Maria@Example.com")
    support.click("#search")
    support.click(f"#results >> text={card_number}")
    support.wait_for_selector("#member-title")
    assert support.text_content("#balance") == "0"
    assert support.text_content("#email") == "maria@example.com"
    assert support.text_content("#tier") == "Regular"
    support.fill("#points", "300")
    support.fill("#reason", "Welcome gift promised at the counter")
    support.click("#adjust")
    support.wait_for_selector("#flash")
    assert "+300 points saved. The balance is now 300." in support.text_content("#flash")
    assert support.text_content("#balance") == "300"
    assert "Welcome gift promised at the counter" in support.text_content("#ledger")
    _shoot(support, tmp_path, "6-member")

    # 7. The cashier scans the pass and redeems the espresso: 200 beans left.
    deliver_pending(runtime(app))  # the worker: the pass shows the new balance
    assert wallet.update() == 200
    assert wallet.pass_json["storeCard"]["primaryFields"][0]["value"] == 300
    _scan(cashier, wallet.scan(), "Customer identified")
    assert cashier.text_content("#card-number") == card_number
    assert cashier.text_content("#balance-points") == "300"
    assert cashier.text_content("#member-tier") == "Regular"
    assert cashier.text_content("#member-name").startswith("Maria")
    cashier.click("li:has-text('Espresso') button")
    cashier.wait_for_selector("#balance-points:text-is('200')")
    assert "Redeemed 100 points" in cashier.text_content("#action-message")
    _shoot(cashier, tmp_path, "7-redeemed")
    deliver_pending(runtime(app))
    assert wallet.update() == 200  # the pass now shows the next code and the new balance
    assert wallet.pass_json["storeCard"]["primaryFields"][0]["value"] == 200

    # 8. Support revokes the card; the till refuses the pass's next code.
    support.reload()
    assert support.text_content("#balance") == "200"
    support.click("#revoke")
    support.wait_for_selector("#confirm-title")
    support.click("#confirm-revoke")
    support.wait_for_selector("#flash")
    assert "The card is revoked. Both passes stopped working." in support.text_content("#flash")
    assert support.text_content("#card-state") == "Card revoked"
    old_scan = wallet.scan()
    assert wallet.update() == 401  # the revoked pass no longer updates
    _scan(cashier, old_scan, "this card has been revoked")  # the POS's card_revoked
    assert cashier.get_attribute("#scan-message", "class") == "message error"
    assert cashier.is_hidden("#customer")

    # 9. Support replaces the card; the new pass, from the mailed link, redeems again.
    support.click("#replace")
    support.wait_for_selector("#confirm-title")
    support.click("#confirm-replace")
    support.wait_for_selector("#flash")
    assert "New pass links are on their way to the member." in support.text_content("#flash")
    assert support.text_content("#card-state") == "Card active"
    deliver_pending(runtime(app))  # the worker sends the new links
    mail = smtp.messages[-1]
    assert mail["To"] == "maria@example.com"
    payload = mail.get_payload(decode=True)
    assert isinstance(payload, bytes)
    body = payload.decode()
    new_link = re.search(r"https?://\S+\.pkpass", body)
    assert new_link, body
    new_wallet = WalletApp()
    new_wallet.add(new_link.group(0))
    old_token = wallet.pass_json["authenticationToken"]
    assert new_wallet.pass_json["authenticationToken"] != old_token
    assert new_wallet.update() == 200 and wallet.update() == 401
    assert requests.get(first_link, timeout=10).status_code == 404
    # The lost phone's pass: card_revoked, worded for the cashier.
    _scan(
        cashier, old_scan, "this is an old copy of the card: ask the customer to open the new pass"
    )
    _scan(cashier, new_wallet.scan(), "Customer identified")
    assert cashier.text_content("#card-number") == card_number
    assert cashier.text_content("#balance-points") == "200"
    cashier.click("li:has-text('Espresso') button")
    cashier.wait_for_selector("#balance-points:text-is('100')")
    assert "Redeemed 100 points" in cashier.text_content("#action-message")
    support.reload()
    assert support.text_content("#balance") == "100"
    audit = support.text_content("#audit")
    for action in ("points.adjusted", "points.redemption", "card.revoked", "card.replaced"):
        assert action in audit
    _shoot(support, tmp_path, "9-replaced")
