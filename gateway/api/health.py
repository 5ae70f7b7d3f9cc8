"""Liveness (/healthz) and readiness (/readyz: the database answers and a worker is delivering)."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import select, text

from gateway.models.base import utcnow
from gateway.models.worker_heartbeat import WorkerHeartbeat
from gateway.runtime import request_session, runtime
from gateway.services.chores.heartbeats import OUTBOX_DELIVERY

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    """200 when the database answers."""
    request_session().execute(text("SELECT 1"))
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz() -> ResponseReturnValue:
    """200 when the database answers and the outbox worker ran within READY_WORKER_SECONDS;
    503 naming what is not ready otherwise (a database outage is the app's 503 answer)."""
    session = request_session()
    session.execute(text("SELECT 1"))
    last_run = session.scalar(
        select(WorkerHeartbeat.last_run_at).where(WorkerHeartbeat.name == OUTBOX_DELIVERY)
    )
    limit = timedelta(seconds=runtime().settings.ready_worker_seconds)
    worker_ok = last_run is not None and utcnow() - last_run <= limit
    checks = {
        "database": "ok",
        "worker": "ok" if worker_ok else ("never ran" if last_run is None else "stale"),
    }
    body = {"status": "ok" if worker_ok else "not_ready", "checks": checks}
    if last_run is not None:
        body["worker_last_run_at"] = last_run.isoformat()
    return jsonify(body), 200 if worker_ok else 503
