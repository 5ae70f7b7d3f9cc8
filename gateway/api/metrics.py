"""/metrics in Prometheus text format: this process's (or, in multiprocess mode, every worker's)
request metrics, plus outbox and worker figures read from the database."""

from __future__ import annotations

import hmac
import os

from flask import Blueprint, Response
from flask import request as flask_request
from flask.typing import ResponseReturnValue
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from gateway.domain.errors import GatewayError
from gateway.observability.outbox_metrics import OutboxCollector
from gateway.runtime import runtime

bp = Blueprint("metrics", __name__)


def _process_registry() -> CollectorRegistry:
    """This process's metrics, or every worker's in prometheus_client's multiprocess mode."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return registry
    return REGISTRY


@bp.get("/metrics")
def metrics() -> ResponseReturnValue:
    """The exposition; `Authorization: Bearer <GATEWAY_METRICS_TOKEN>` when that is set."""
    token = runtime().settings.metrics_token
    if token:
        given = flask_request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), token.encode()):
            raise GatewayError(
                "unauthorized",
                "send the metrics token as `Authorization: Bearer <token>`",
                401,
                headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
            )
    database = CollectorRegistry()
    database.register(OutboxCollector(runtime()))
    body = generate_latest(_process_registry()) + generate_latest(database)
    return Response(body, mimetype=CONTENT_TYPE_LATEST)
