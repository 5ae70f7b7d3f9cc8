"""Rewards in real headless Chromium: a marketer signs in, creates a reward, a till redeems it
through the POS HTTP API, the marketer pulls the program's kill switch and the till's next
redemption is refused (screenshots at 1280 and 390 px in the test's tmp folder)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from typing import Any

from gateway.pos.terminals import create_store, create_terminal
from gateway.runtime import runtime
from tests.browser import chromium_page, served
from tests.console_helpers import PASSWORD, make_operator
from tests.factories import demo_program, enroll_member
from tests.fakes.smtp_server import free_port


def _pos(base: str, key: str, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """POST /pos/v1<path> over HTTP as a till would."""
    request = urllib.request.Request(
        f"{base}/pos/v1{path}",
        data=json.dumps(body).encode(),
        method="POST",
        headers={
            "Authorization": f"Bearer {key}",
            "Content-Type": "application/json",
            "Idempotency-Key": uuid.uuid4().hex,
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_create_a_reward_redeem_it_then_pause_redemptions(make_app, tmp_path):
    port = free_port()
    app = make_app(PUBLIC_BASE_URL=f"http://127.0.0.1:{port}")
    demo_program(app)
    make_operator(app, "marketer@example.com", "marketer")
    with runtime(app).sessions() as session:
        create_store(session, "MAIN", "Main street", "demo")
        _, till_key = create_terminal(session, "MAIN", "till 1")
    member = enroll_member(app, balance=3000)

    with served(app, port) as base, chromium_page() as page:
        page.set_viewport_size({"width": 1280, "height": 800})
        page.goto(f"{base}/console/login")
        page.fill("#email", "marketer@example.com")
        page.fill("#password", PASSWORD)
        page.click("#sign-in")
        page.wait_for_selector("#welcome")

        page.click("#console-nav >> text=Rewards and kill switches")
        page.wait_for_selector("#program-switch")
        assert page.text_content("#redemptions-state") == "Redemptions are on"
        page.click("#new-reward")
        page.fill("#code", "cinnamon-roll")
        page.fill("#name", "Cinnamon roll")
        page.fill("#cost_points", "700")
        page.fill("#stock", "3")
        page.fill("#budget_points", "2100")
        page.screenshot(path=str(tmp_path / "reward-form-1280.png"), full_page=True)
        page.click("#save-reward")
        page.wait_for_selector("#reward-cinnamon-roll")
        assert "Cinnamon roll was created" in page.text_content("#flash")
        row = page.locator("#reward-cinnamon-roll")
        assert row.locator(".stock").text_content().strip() == "3"
        assert "0 of 2,100 spent" in " ".join(row.locator(".budget").text_content().split())

        status, found = _pos(base, till_key, "/identify", {"scan": member.google_scan()})
        assert status == 200, found
        offered = {item["id"]: item["available"] for item in found["rewards"]}
        assert offered["cinnamon-roll"] is True
        checkout = found["checkout"]["token"]
        status, redeemed = _pos(
            base, till_key, "/redemptions", {"checkout": checkout, "reward_id": "cinnamon-roll"}
        )
        assert status == 201, redeemed
        assert redeemed["redemption"]["reward"] == {"id": "cinnamon-roll", "name": "Cinnamon roll"}
        assert redeemed["balance"]["points"] == 2300

        page.reload()
        row = page.locator("#reward-cinnamon-roll")
        assert row.locator(".stock").text_content().strip() == "2"
        assert "700 of 2,100 spent" in " ".join(row.locator(".budget").text_content().split())

        page.click("#pause-redemptions")
        page.wait_for_selector("#resume-redemptions")
        assert page.text_content("#redemptions-state") == "All redemptions are paused"
        page.screenshot(path=str(tmp_path / "rewards-paused-1280.png"), full_page=True)

        status, refused = _pos(
            base, till_key, "/redemptions", {"checkout": checkout, "reward_id": "cinnamon-roll"}
        )
        assert status == 409
        assert refused["error"]["code"] == "reward_unavailable"

        page.set_viewport_size({"width": 390, "height": 844})
        page.reload()
        page.screenshot(path=str(tmp_path / "rewards-paused-390.png"), full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.click("#edit-cinnamon-roll")
        page.wait_for_selector("#save-reward")
        page.screenshot(path=str(tmp_path / "reward-edit-390.png"), full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390

        page.set_viewport_size({"width": 1280, "height": 800})
        page.goto(f"{base}/console/rewards")
        page.click("#resume-redemptions")
        page.wait_for_selector("#pause-redemptions")
        status, again = _pos(
            base, till_key, "/redemptions", {"checkout": checkout, "reward_id": "cinnamon-roll"}
        )
        assert status == 201, again
