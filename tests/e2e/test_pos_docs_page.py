"""The POS docs page in a real headless Chromium: it renders every endpoint, field and error code
from /pos/v1/openapi.json, without a single request leaving the gateway."""

from __future__ import annotations

from typing import Any

from flask import Flask

from pos_adapter.openapi import openapi_document
from tests.browser import chromium_page, served
from tests.fakes.smtp_server import free_port

CONTRACT_OPERATIONS = [
    ("POST", "/pos/v1/identify"),
    ("POST", "/pos/v1/redemptions"),
    ("POST", "/pos/v1/redemptions/{redemption_id}/capture"),
    ("POST", "/pos/v1/redemptions/{redemption_id}/void"),
    ("POST", "/pos/v1/accruals"),
    ("POST", "/pos/v1/refunds"),
    ("GET", "/pos/v1/cards/{number}"),
]


def test_docs_page_renders_endpoints_fields_and_error_codes(app: Flask) -> None:
    with served(app, free_port()) as base, chromium_page() as page:
        _check_docs_page(base, page)


def _check_docs_page(live_url: str, page: Any) -> None:
    requested: list[str] = []
    problems: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)

    response = page.goto(f"{live_url}/pos/v1/docs")
    assert response is not None and response.status == 200
    page.wait_for_selector("body[data-ready]")
    assert page.get_attribute("body", "data-ready") == "true", page.inner_text("#error")

    for method, path in CONTRACT_OPERATIONS:
        section = page.locator(f'section.op[data-path="{path}"][data-method="{method}"]')
        assert section.count() == 1, path
        assert section.locator("h3").inner_text().split() == [method, path]
        assert page.locator(f'nav a[href="#{section.get_attribute("id")}"]').count() == 1

    document = openapi_document(live_url)
    enumerated = document["components"]["schemas"]["ErrorCode"]["enum"]
    for entry in document["x-error-codes"]:
        row = page.locator(f'#errors tr[data-code="{entry["code"]}"]')
        assert row.count() == 1, entry["code"]
        assert row.locator("td").nth(1).inner_text() == str(entry["status"])
    assert page.locator("#errors tr[data-code]").count() == len(enumerated)

    identify = page.locator('section.op[data-path="/pos/v1/identify"]')
    for field in (
        "scan",
        "checkout.token",
        "checkout.expires_at",
        "card.wallet",
        "member.display_name",
        "balance.held",
        "rewards[].cost_points",
    ):
        assert identify.locator(f'tr[data-field="{field}"]').count() >= 1, field
    for code in ("malformed_scan", "code_rejected", "code_already_used", "card_locked"):
        assert identify.locator(f'a[data-error-code="{code}"]').count() == 1, code

    redeem = page.locator('section.op[data-path="/pos/v1/redemptions"]')
    key_row = redeem.locator('tr[data-param="Idempotency-Key"]')
    assert "required" in key_row.inner_text()
    assert "max length 255" in key_row.inner_text()
    assert redeem.locator('tr[data-field="redemption.status"]').count() == 1
    assert "Exactly one of: reward_id, points." in redeem.inner_text()

    accrue = page.locator('section.op[data-path="/pos/v1/accruals"]')
    assert "required" in accrue.locator('tr[data-field="order.currency"]').inner_text()

    page.click('#errors tr[data-code="idempotency_key_reused"] code')
    page.click('nav a[href="#errors"]')
    assert page.url.endswith("#errors")

    assert problems == []
    assert requested and all(url.startswith(live_url) for url in requested), requested


def test_docs_page_is_self_contained(app: Flask) -> None:
    page = app.test_client().get("/pos/v1/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "http://" not in html and "https://" not in html
    policy = page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "connect-src 'self'" in policy
