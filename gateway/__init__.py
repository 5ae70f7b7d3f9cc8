"""The wallet-pass gateway: Flask app factory."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from gateway.config import config_defaults

MAX_BODY_BYTES = 64 * 1024


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the app: config -> runtime (DB, keys, adapters) -> blueprints."""
    instance_path = (test_config or {}).get("INSTANCE_PATH") or os.environ.get(
        "GATEWAY_INSTANCE_PATH"
    )
    app = Flask(
        __name__,
        instance_path=str(instance_path) if instance_path else None,
        instance_relative_config=True,
    )
    app.config.from_mapping(config_defaults())
    # Werkzeug enforces this on every body, chunked ones included (413 payload_too_large);
    # /pos/v1 lowers it per request (gateway.api.body_limits).
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.config.from_prefixed_env("GATEWAY")
    if test_config:
        app.config.update(test_config)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)

    from gateway.bootstrap import build_runtime
    from gateway.runtime import init_runtime

    rt = build_runtime(app)
    init_runtime(app, rt)
    if rt.settings.proxy_count:
        # The client address (rate limits, logs) and scheme as the trusted proxies saw them.
        count = rt.settings.proxy_count
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=count, x_proto=count, x_host=count
        )

    from gateway.api import register_blueprints
    from gateway.cli import register_commands
    from gateway.log_redaction import install_log_redaction

    install_log_redaction(app)

    register_blueprints(app)
    register_commands(app)
    return app
