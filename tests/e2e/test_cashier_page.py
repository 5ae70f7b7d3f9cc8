"""The cashier page in real headless Chromium: scan, see the customer, redeem, accrue."""

from __future__ import annotations

from sqlalchemy import select

from gateway.models.member import Account
from gateway.pos.terminals import create_store, create_terminal
from gateway.runtime import runtime
from tests.browser import chromium_page, served
from tests.factories import enroll_member
from tests.fakes.smtp_server import free_port


def _terminal_key(app) -> str:
    with runtime(app).sessions() as session:
        create_store(session, "MAIN", "Main street", "demo")
        session.commit()
        _, key = create_terminal(session, "MAIN", "till 1")
        session.commit()
    return key


def test_cashier_scans_redeems_a_reward_and_accrues_an_order(make_app):
    port = free_port()
    app = make_app(PUBLIC_BASE_URL=f"http://127.0.0.1:{port}")
    member = enroll_member(app, balance=2000, tier="Gold", discount_percent=10)
    key = _terminal_key(app)
    with served(app, port) as base, chromium_page() as page:
        page.goto(f"{base}/cashier")
        page.fill("#terminal-key", key)
        page.click("#save-key")
        assert page.text_content("#terminal-state") == "terminal ready"

        page.fill("#scan", "garbage")
        page.press("#scan", "Enter")
        page.wait_for_selector("#scan-message:not(:empty)")
        assert page.get_attribute("#scan-message", "class") == "message error"

        page.fill("#scan", member.apple_scan())
        page.press("#scan", "Enter")
        page.wait_for_selector("#customer:not([hidden])")
        assert page.text_content("#card-number") == member.card_number
        assert page.text_content("#card-wallet") == "apple"
        assert page.text_content("#balance-points") == "2000"
        assert page.text_content("#member-tier") == "Gold"

        page.click("li:has-text('Free coffee') button")
        page.wait_for_selector("#balance-points:text-is('1500')")
        assert "Redeemed 500 points" in page.text_content("#action-message")

        page.fill("#order-id", "ORDER-1")
        page.fill("#order-total", "20.00")
        page.click("#accrual-form button")
        page.wait_for_selector("#action-message:text-matches('^Accrued')")
        shown = int(page.text_content("#balance-points"))
    with runtime(app).sessions() as session:
        balance = session.scalars(
            select(Account.balance).where(Account.id == member.account_id)
        ).one()
    assert shown == balance > 1500
