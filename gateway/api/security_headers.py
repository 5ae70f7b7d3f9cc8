"""Security headers: nosniff on every answer; on HTML pages a strict nonce-based CSP,
`frame-ancestors 'none'` and `Referrer-Policy: no-referrer`; HSTS when the public URL is https.

Each HTML response gets a fresh nonce (`csp_nonce()` in templates); only `<script>`/`<style>`
elements carrying it run, so injected markup cannot execute script or restyle the page.
"""

from __future__ import annotations

import secrets

from flask import Flask, Response, g

from gateway.runtime import runtime

HSTS = "max-age=31536000; includeSubDomains"


def csp_nonce() -> str:
    """This response's CSP nonce (made on first use)."""
    nonce: str | None = g.get("csp_nonce")
    if nonce is None:
        nonce = g.csp_nonce = secrets.token_urlsafe(16)
    return nonce


def page_policy(nonce: str) -> str:
    """The Content-Security-Policy of the gateway's own pages."""
    return (
        f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; "
        "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; "
        "frame-ancestors 'none'"
    )


def install(app: Flask) -> None:
    """Add the headers to every response of `app`."""
    app.jinja_env.globals["csp_nonce"] = csp_nonce
    https = runtime(app).settings.public_base_url.lower().startswith("https://")

    @app.after_request
    def _headers(response: Response) -> Response:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        if https:
            response.headers.setdefault("Strict-Transport-Security", HSTS)
        if response.mimetype == "text/html":
            response.headers.setdefault("Content-Security-Policy", page_policy(csp_nonce()))
            response.headers.setdefault("Referrer-Policy", "no-referrer")
            response.headers.setdefault("X-Frame-Options", "DENY")
            response.headers.setdefault("Cache-Control", "no-store")
        return response
