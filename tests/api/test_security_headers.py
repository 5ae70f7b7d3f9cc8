"""HTML pages carry a strict CSP, no-referrer, nosniff and frame-ancestors 'none'; HSTS on https."""

from __future__ import annotations

import re

import pytest

from tests.factories import demo_program

PAGES = ["/enroll/demo", "/cashier", "/pos/v1/docs"]


@pytest.mark.parametrize("path", PAGES)
def test_html_pages_have_a_strict_policy(app, client, path):
    demo_program(app)
    response = client.get(path)
    assert response.status_code == 200
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    nonce = re.search(r"script-src 'nonce-([^']+)'", csp).group(1)
    html = response.get_data(as_text=True)
    # Every script and style element carries this response's nonce; no inline handlers/styles.
    assert html.count("<script") == html.count(f'<script nonce="{nonce}"')
    assert html.count("<style") == html.count(f'<style nonce="{nonce}"')
    assert not re.search(r"\son[a-z]+=", html) and ' style="' not in html
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    assert response.headers["Referrer-Policy"] == "no-referrer"


def test_nonces_differ_per_response(app, client):
    demo_program(app)
    first = client.get("/enroll/demo").headers["Content-Security-Policy"]
    assert first != client.get("/enroll/demo").headers["Content-Security-Policy"]


def test_json_answers_are_nosniff_and_no_hsts_on_plain_http(make_app):
    app = make_app(PUBLIC_BASE_URL="http://127.0.0.1:5000")
    response = app.test_client().get("/healthz")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "Strict-Transport-Security" not in response.headers
    assert "Content-Security-Policy" not in response.headers
