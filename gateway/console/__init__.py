"""The operator console: server-rendered pages under /console (sign-in, home, account).

Only this blueprint has cookie sessions and CSRF checks; every other path stays stateless."""

from __future__ import annotations

from flask import Flask
from flask_wtf.csrf import CSRFProtect

from gateway.console.cookie_sessions import CONSOLE_PATH, ConsoleOnlySessions
from gateway.runtime import runtime

csrf = CSRFProtect()


def register(app: Flask) -> None:
    """Console cookie sessions, CSRF protection and the blueprint."""
    # Each area's pages add their routes to the one blueprint when imported.
    from gateway.console import (  # noqa: F401
        api_key_pages,
        branding_pages,
        member_pages,
        operations_pages,
        operator_pages,
        program_pages,
        report_pages,
        reward_pages,
        store_pages,
    )
    from gateway.console.views import bp

    https = runtime(app).settings.public_base_url.lower().startswith("https://")
    app.config.update(
        SESSION_COOKIE_NAME="console_session",
        SESSION_COOKIE_PATH=CONSOLE_PATH,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=https,
        # Checked by the console blueprint only (views.before_request), not app-wide.
        WTF_CSRF_CHECK_DEFAULT=False,
        # The token lives as long as the console session (which idles out on its own).
        WTF_CSRF_TIME_LIMIT=None,
        # Pages send `Referrer-Policy: no-referrer`, so the https Referer check would refuse
        # every form; the token plus SameSite=Lax cookies carry the protection.
        WTF_CSRF_SSL_STRICT=False,
    )
    app.session_interface = ConsoleOnlySessions()
    csrf.init_app(app)
    app.register_blueprint(bp)
