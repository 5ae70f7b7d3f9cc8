"""Request body caps: 64 KiB app-wide (MAX_CONTENT_LENGTH), lower per blueprint (POS: 16 KiB),
or set per endpoint (console image uploads: higher).

Werkzeug enforces `request.max_content_length` on a declared Content-Length, and on a chunked
body it stops reading at the cap, but hands back the truncated prefix without an error when the
cap is met exactly. A chunked body is therefore read here, before any handler, and one that
fills the cap is refused: 413 `payload_too_large`, never a parse of a cut-off body.
"""

from __future__ import annotations

from flask import Flask, current_app, request

from gateway.domain.errors import GatewayError

_EXTENSION = "gateway.body_limits"
_ENDPOINTS = "gateway.body_limits.endpoints"


def too_large() -> GatewayError:
    """413 `payload_too_large`."""
    return GatewayError("payload_too_large", "the request body is too large", 413)


def set_blueprint_limit(app: Flask, blueprint: str, max_bytes: int) -> None:
    """Cap the bodies of one blueprint's endpoints below the app-wide limit."""
    app.extensions.setdefault(_EXTENSION, {})[blueprint] = max_bytes


def set_endpoint_limit(app: Flask, endpoint: str, max_bytes: int) -> None:
    """Cap one endpoint's bodies (above or below the app-wide limit: image uploads)."""
    app.extensions.setdefault(_ENDPOINTS, {})[endpoint] = max_bytes


def install(app: Flask) -> None:
    """Apply the caps before every request's handlers (and blueprint hooks) run."""
    app.extensions.setdefault(_EXTENSION, {})
    app.before_request(_apply_limit)


def _apply_limit() -> None:
    limits: dict[str, int] = current_app.extensions[_EXTENSION]
    endpoints: dict[str, int] = current_app.extensions.get(_ENDPOINTS, {})
    if request.endpoint in endpoints:
        request.max_content_length = endpoints[request.endpoint]
    elif request.blueprint in limits:
        request.max_content_length = limits[request.blueprint]
    cap = request.max_content_length
    if cap is None:
        return
    if request.content_length is not None:
        if request.content_length > cap:
            raise too_large()
        return
    if request.environ.get("wsgi.input_terminated"):
        body = request.get_data(cache=True)  # stops at the cap
        if len(body) >= cap:
            raise too_large()
