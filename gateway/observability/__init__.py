"""What the people who run the servers see: request ids, JSON logs, Prometheus metrics."""

from __future__ import annotations

from flask import Flask

from gateway.config import ConfigurationError
from gateway.runtime import runtime

LOG_FORMATS = ("text", "json")


def install(app: Flask) -> None:
    """Request ids on every request and log line, the chosen log format, request metrics."""
    from gateway.observability import http_metrics, json_logs, request_ids

    log_format = runtime(app).settings.log_format
    if log_format not in LOG_FORMATS:
        raise ConfigurationError(f"GATEWAY_LOG_FORMAT: expected text or json, got {log_format!r}")
    request_ids.install(app)
    json_logs.install(app, json_lines=log_format == "json")
    http_metrics.install(app)
