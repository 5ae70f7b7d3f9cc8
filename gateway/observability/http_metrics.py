"""Request counts and latency per endpoint and status, and POS outcomes by error code.

Labels are the route's endpoint name (never the raw path: bounded label values, and no card
number or token from a URL ends up in a metric). With several gunicorn workers, set
PROMETHEUS_MULTIPROC_DIR (prometheus_client's multiprocess mode) so /metrics adds them up."""

from __future__ import annotations

import time
from typing import Any

from flask import Flask, Response, g, request
from prometheus_client import Counter, Histogram, disable_created_metrics

# The `_created` series double the output and nothing here reads them.
disable_created_metrics()  # type: ignore[no-untyped-call]

REQUESTS = Counter(
    "gateway_http_requests",
    "HTTP requests answered, by endpoint, method and status.",
    ["endpoint", "method", "status"],
)
LATENCY = Histogram(
    "gateway_http_request_duration_seconds",
    "Time to answer an HTTP request, by endpoint and method.",
    ["endpoint", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
POS_OUTCOMES = Counter(
    "gateway_pos_outcomes",
    "POS protocol answers by operation and outcome (ok or the error code).",
    ["operation", "outcome"],
)
POS_BLUEPRINT = "pos"


def _error_code(response: Response) -> str:
    body: Any = response.get_json(silent=True) if response.is_json else None
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        code = body["error"].get("code")
        if isinstance(code, str) and len(code) <= 60:
            return code
    return f"http_{response.status_code}"


def install(app: Flask) -> None:
    """Time every request and count its answer."""

    @app.before_request
    def _start() -> None:
        g.metrics_started = time.perf_counter()

    @app.after_request
    def _count(response: Response) -> Response:
        started = g.pop("metrics_started", None)
        endpoint = request.endpoint or "unmatched"
        method = request.method if request.method.isalpha() else "other"
        REQUESTS.labels(endpoint, method, str(response.status_code)).inc()
        if started is not None:
            LATENCY.labels(endpoint, method).observe(time.perf_counter() - started)
        if request.blueprint == POS_BLUEPRINT:
            outcome = "ok" if response.status_code < 400 else _error_code(response)
            POS_OUTCOMES.labels(endpoint.removeprefix("pos."), outcome).inc()
        return response
