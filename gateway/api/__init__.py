"""Thin blueprints: parse the request, call one service, shape the answer."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask


def register_blueprints(app: Flask) -> None:
    """Attach every blueprint and the JSON error handler."""
    from gateway.api import body_limits, security_headers, url_guard
    from gateway.api.admin import register as register_admin_api
    from gateway.api.apple_web_service import bp as apple_bp
    from gateway.api.consents import bp as consents_bp
    from gateway.api.enrollment import bp as enrollment_bp
    from gateway.api.errors import register_error_handlers
    from gateway.api.google_callback import bp as google_callback_bp
    from gateway.api.health import bp as health_bp
    from gateway.api.metrics import bp as metrics_bp
    from gateway.api.pages import bp as pages_bp
    from gateway.api.passes import bp as passes_bp
    from gateway.api.qr import bp as qr_bp
    from gateway.console import register as register_console
    from gateway.observability import install as install_observability

    register_error_handlers(app)
    install_observability(app)
    url_guard.install(app)
    security_headers.install(app)
    body_limits.install(app)
    app.register_blueprint(health_bp)
    app.register_blueprint(metrics_bp)
    app.register_blueprint(enrollment_bp)
    app.register_blueprint(passes_bp)
    app.register_blueprint(pages_bp)
    app.register_blueprint(qr_bp)
    app.register_blueprint(apple_bp)
    app.register_blueprint(google_callback_bp)
    app.register_blueprint(consents_bp)
    # Cookie sessions and CSRF checks exist only on /console (the other paths stay stateless).
    register_console(app)
    register_admin_api(app)
    for register in _optional_blueprints():
        register(app)


def _optional_blueprints() -> list[Callable[[Flask], None]]:
    """Blueprints of other packages (the POS adapter) that plug into the same app."""
    from pos_adapter.blueprints import register as register_pos

    return [register_pos]
