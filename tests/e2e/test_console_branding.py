"""Pass images in real headless Chromium: upload a logo, watch the issued cards being updated,
see the logo in the preview, and see the preview follow the program fields as they are typed
(screenshots at 1280 and 390 px in the test's tmp folder)."""

from __future__ import annotations

import io
from pathlib import Path

from flask import Flask
from PIL import Image

from gateway.runtime import runtime
from gateway.services.keep_live.outbox import deliver_pending
from tests.browser import chromium_page, served
from tests.conftest import AppFactory
from tests.console_helpers import PASSWORD, make_operator
from tests.factories import demo_program, enroll_member
from tests.fakes.smtp_server import free_port

# The program form (another page) has these inputs; the preview follows any such input on the
# page it is included in. Here they are added to the branding page, as that form would be.
_PROGRAM_FIELDS = """
() => {
  const form = document.createElement("form");
  form.id = "program-fields";
  for (const name of ["name", "organization", "points_label", "background_color"]) {
    const input = document.createElement("input");
    input.name = name;
    input.id = "field-" + name;
    form.appendChild(input);
  }
  document.querySelector("main").appendChild(form);
}
"""


def _logo(path: Path) -> Path:
    out = io.BytesIO()
    Image.new("RGBA", (900, 300), (220, 40, 90, 255)).save(out, format="PNG")
    path.write_bytes(out.getvalue())
    return path


def _sign_in(page, base: str, email: str) -> None:
    page.goto(f"{base}/console/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("#sign-in")
    page.wait_for_selector("#welcome")


def test_upload_a_logo_and_watch_the_preview(make_app: AppFactory, tmp_path: Path):
    port = free_port()
    app: Flask = make_app(PUBLIC_BASE_URL=f"http://127.0.0.1:{port}")
    demo_program(app)
    enroll_member(app)
    make_operator(app, "brand@example.com", "marketer")
    logo = _logo(tmp_path / "my-logo.png")

    with served(app, port) as base, chromium_page() as page:
        page.set_viewport_size({"width": 1280, "height": 900})
        _sign_in(page, base, "brand@example.com")
        page.goto(f"{base}/console/programs/demo/branding")
        old_logo = page.get_attribute("#pp-apple-logo", "src")
        assert old_logo and "logo@3x.png" in old_logo

        page.set_input_files("#file-logo", str(logo))
        page.click("#upload-images")
        page.wait_for_selector("#refresh-bar")
        assert page.text_content("#refresh-total") == "2"  # the member's Apple and Google pass
        deliver_pending(runtime(app))  # the worker
        page.wait_for_selector("text=All cards are up to date.")
        assert page.text_content("#refresh-done") == "2"
        assert page.evaluate("document.getElementById('refresh-bar').value") == 2
        page.screenshot(path=str(tmp_path / "progress-1280.png"), full_page=True)

        page.click("text=Back to the pass images")
        page.wait_for_selector("#pp-apple-logo")
        new_logo = page.get_attribute("#pp-apple-logo", "src")
        assert new_logo and new_logo != old_logo
        # The uploaded logo, scaled to Apple's @3x size and allowed by the page's CSP.
        page.wait_for_function("document.getElementById('pp-apple-logo').complete")
        assert page.evaluate("document.getElementById('pp-apple-logo').naturalWidth") == 450
        assert page.evaluate("document.getElementById('pp-google-logo').naturalHeight") == 150
        page.screenshot(path=str(tmp_path / "branding-1280.png"), full_page=True)

        page.evaluate(_PROGRAM_FIELDS)
        page.fill("#field-name", "Bean Counter Club")
        page.fill("#field-background_color", "#0a7d3b")
        page.fill("#field-points_label", "Stars")
        assert page.text_content("#pp-google-name") == "Bean Counter Club"
        apple_bg = "getComputedStyle(document.getElementById('pp-apple')).backgroundColor"
        google_bg = "getComputedStyle(document.getElementById('pp-google')).backgroundColor"
        assert page.evaluate(apple_bg) == "rgb(10, 125, 59)"
        assert page.evaluate(google_bg) == "rgb(10, 125, 59)"
        labels = page.locator('#pass-preview [data-pp="points_label"]').all_text_contents()
        assert labels == ["Stars", "Stars"]
        page.fill("#field-background_color", "#0a7d3")  # half typed: the last good color stays
        assert page.evaluate(apple_bg) == "rgb(10, 125, 59)"
        page.fill("#field-name", "")
        assert page.text_content("#pp-google-name") == "Program name"

        page.set_viewport_size({"width": 390, "height": 844})
        page.goto(f"{base}/console/programs/demo/branding")
        page.screenshot(path=str(tmp_path / "branding-390.png"), full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
