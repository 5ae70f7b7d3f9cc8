"""Support in real headless Chromium: sign in, find the member, revoke the card (the till refuses
its code), replace it (a redemption with the new pass's code succeeds). Screenshots at 1280 and
390 px land in the test's tmp folder."""

from __future__ import annotations

from tests.browser import chromium_page, served
from tests.console_helpers import PASSWORD, make_operator
from tests.factories import enroll_member
from tests.integration.conftest import new_till
from tests.member_helpers import apple_scan

PORT = 18250


def test_support_revokes_and_replaces_a_card(make_app, tmp_path):
    app = make_app(PUBLIC_BASE_URL=f"http://127.0.0.1:{PORT}")
    member = enroll_member(app, email="lost.phone@example.com", balance=900)
    till = new_till(app)
    old_scan = apple_scan(app, member.card_number)
    make_operator(app, "desk@example.com", "support")

    with served(app, PORT) as base, chromium_page() as page:
        page.set_viewport_size({"width": 1280, "height": 800})
        page.goto(f"{base}/console/login")
        page.fill("#email", "desk@example.com")
        page.fill("#password", PASSWORD)
        page.click("#sign-in")
        page.wait_for_selector("#welcome")

        page.click("text=Members and cards")
        page.fill("#q", "Lost.Phone@example.com")
        page.click("#search")
        page.click(f"text={member.card_number}")
        page.wait_for_selector("#member-title")
        assert page.text_content("#balance") == "900"
        assert page.text_content("#email") == "lost.phone@example.com"
        page.screenshot(path=str(tmp_path / "member-1280.png"), full_page=True)

        page.click("#revoke")
        page.wait_for_selector("#confirm-title")
        page.click("#confirm-revoke")
        page.wait_for_selector("#flash")
        assert "revoked" in page.text_content("#flash")
        assert page.text_content("#card-state") == "Card revoked"
        refused = till.identify(old_scan)
        assert refused.status_code == 410 and refused.json["error"]["code"] == "card_revoked"

        page.click("#replace")
        page.click("#confirm-replace")
        page.wait_for_selector("#flash")
        assert "replaced" in page.text_content("#flash")
        assert page.text_content("#card-state") == "Card active"

        checkout = till.checkout(apple_scan(app, member.card_number))
        redeemed = till.redeem(checkout, reward_id="coffee")
        assert redeemed.status_code == 201, redeemed.json
        assert redeemed.json["balance"]["points"] == 400
        assert till.identify(old_scan).status_code == 410  # the old copy: card_revoked

        page.reload()
        assert page.text_content("#balance") == "400"
        assert "card.replaced" in page.text_content("#audit")
        page.screenshot(path=str(tmp_path / "member-replaced-1280.png"), full_page=True)
        page.set_viewport_size({"width": 390, "height": 844})
        page.reload()
        page.screenshot(path=str(tmp_path / "member-390.png"), full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.goto(f"{base}/console/members?q=lost.phone%40example.com")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
