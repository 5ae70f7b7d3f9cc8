"""Operations health: /metrics (requests, POS outcomes, outbox and worker figures from the
database), /readyz, request ids and JSON log lines."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import delete

from gateway.models.base import utcnow
from gateway.models.outbox import OutboxEvent
from gateway.models.worker_heartbeat import WorkerHeartbeat
from gateway.runtime import runtime
from gateway.services.chores.heartbeats import OUTBOX_DELIVERY, beat

_SAMPLE = re.compile(r"^([a-z_:]+)(\{[^}]*\})? ([0-9.e+-]+|NaN|\+Inf)$")


def samples(text: str) -> dict[str, float]:
    """`name{labels}` -> value, from a Prometheus text exposition."""
    found: dict[str, float] = {}
    for line in text.splitlines():
        match = _SAMPLE.match(line)
        if match:
            found[match.group(1) + (match.group(2) or "")] = float(match.group(3))
    return found


def scrape(client) -> dict[str, float]:
    answer = client.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("text/plain")
    return samples(answer.get_data(as_text=True))


def _clear_outbox(app: Flask) -> None:
    with runtime(app).sessions() as session:
        session.execute(delete(OutboxEvent))
        session.execute(delete(WorkerHeartbeat))
        session.commit()


def test_requests_are_counted_per_endpoint_and_status(client):
    before = scrape(client)
    key = 'gateway_http_requests_total{endpoint="health.healthz",method="GET",status="200"}'
    for _ in range(3):
        assert client.get("/healthz").status_code == 200
    after = scrape(client)
    assert after[key] - before.get(key, 0.0) == 3
    latency = 'gateway_http_request_duration_seconds_count{endpoint="health.healthz",method="GET"}'
    assert after[latency] - before.get(latency, 0.0) == 3
    # Raw paths never become labels: an unknown path is counted as "unmatched".
    client.get("/no/such/path/7000000000000013")
    assert "7000000000000013" not in client.get("/metrics").get_data(as_text=True)


def test_pos_answers_are_counted_by_error_code(client):
    key = 'gateway_pos_outcomes_total{operation="identify_card",outcome="unauthorized"}'
    before = scrape(client).get(key, 0.0)
    answer = client.post(
        "/pos/v1/identify", json={"scan": "x"}, headers={"Authorization": "Bearer gwt_nope"}
    )
    assert answer.status_code == 401
    assert scrape(client)[key] - before == 1


def test_outbox_figures_come_from_the_table(app, client):
    _clear_outbox(app)
    now = utcnow()
    with runtime(app).sessions() as session:
        session.add_all(
            [
                OutboxEvent(event_id="e1", kind="balance.changed", payload={}, created_at=now),
                OutboxEvent(
                    event_id="e2",
                    kind="balance.changed",
                    payload={},
                    attempts=2,
                    created_at=now - timedelta(seconds=120),
                ),
                OutboxEvent(
                    event_id="e3",
                    kind="card.linked",
                    payload={},
                    attempts=15,
                    dead_at=now,
                    created_at=now - timedelta(hours=2),
                ),
                # Delivered 3 s and 100 s after the change, within the last hour.
                OutboxEvent(
                    event_id="e4",
                    kind="card.linked",
                    payload={},
                    created_at=now - timedelta(seconds=103),
                    delivered_at=now - timedelta(seconds=100),
                ),
                OutboxEvent(
                    event_id="e5",
                    kind="card.linked",
                    payload={},
                    created_at=now - timedelta(seconds=200),
                    delivered_at=now - timedelta(seconds=100),
                ),
            ]
        )
        session.commit()
    found = scrape(client)
    assert found['gateway_outbox_events{kind="balance.changed",state="pending"}'] == 1
    assert found['gateway_outbox_events{kind="balance.changed",state="failing"}'] == 1
    assert found['gateway_outbox_events{kind="card.linked",state="dead"}'] == 1
    assert found['gateway_outbox_oldest_pending_seconds{kind="balance.changed"}'] >= 119
    assert 'gateway_outbox_oldest_pending_seconds{kind="card.linked"}' not in found
    bucket = 'gateway_outbox_delivery_latency_seconds_bucket{kind="card.linked",le="%s"}'
    assert found[bucket % "5.0"] == 1
    assert found[bucket % "60.0"] == 1
    assert found[bucket % "300.0"] == 2
    assert found[bucket % "+Inf"] == 2
    assert found['gateway_outbox_delivery_latency_seconds_count{kind="card.linked"}'] == 2
    assert found['gateway_outbox_delivery_latency_seconds_sum{kind="card.linked"}'] == (
        pytest.approx(103, abs=1)
    )


def test_metrics_token_is_required_when_set(make_app):
    app = make_app(METRICS_TOKEN="scrape-me-please")
    client = app.test_client()
    refused = client.get("/metrics")
    assert refused.status_code == 401 and refused.json["error"]["code"] == "unauthorized"
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    allowed = client.get("/metrics", headers={"Authorization": "Bearer scrape-me-please"})
    assert allowed.status_code == 200


def test_readyz_needs_a_recent_worker_run(app, client):
    _clear_outbox(app)
    never = client.get("/readyz")
    assert never.status_code == 503
    assert never.json["checks"] == {"database": "ok", "worker": "never ran"}
    with runtime(app).sessions() as session:
        beat(session, OUTBOX_DELIVERY)
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json["status"] == "ok"
    with runtime(app).sessions() as session:
        row = session.get(WorkerHeartbeat, OUTBOX_DELIVERY)
        assert row is not None
        row.last_run_at = utcnow() - timedelta(seconds=121)
        session.commit()
    assert client.get("/readyz").json["checks"]["worker"] == "stale"
    assert client.get("/healthz").status_code == 200  # liveness does not depend on the worker
    found = scrape(client)
    assert found[f'gateway_worker_seconds_since_run{{job="{OUTBOX_DELIVERY}"}}'] >= 120


def test_a_request_id_is_returned_and_a_sane_one_is_kept(client):
    generated = client.get("/healthz").headers["X-Request-Id"]
    assert re.fullmatch(r"[0-9a-f]{16}", generated)
    kept = client.get("/healthz", headers={"X-Request-Id": "till-42.abc"})
    assert kept.headers["X-Request-Id"] == "till-42.abc"
    replaced = client.get("/healthz", headers={"X-Request-Id": 'evil" injected=1'})
    assert "evil" not in replaced.headers["X-Request-Id"]
    assert re.fullmatch(r"[0-9a-f]{16}", replaced.headers["X-Request-Id"])


def test_a_bad_log_format_stops_start_up(make_app):
    with pytest.raises(Exception, match="GATEWAY_LOG_FORMAT"):
        make_app(LOG_FORMAT="xml")


_JSON_LOG_SCRIPT = """
import logging, sys
from gateway import create_app
app = create_app({"INSTANCE_PATH": sys.argv[1], "DATABASE_URL": sys.argv[2], "LOG_FORMAT": "json"})
@app.get("/log-something")
def log_something():
    app.logger.warning("looked at /api/v1/passes/apple/secret-download-token.pkpass")
    return "ok"
with app.test_client() as client:
    client.get("/log-something", headers={"X-Request-Id": "req-123"})
logging.getLogger("gateway.elsewhere").info("outside a request")
"""


def test_json_log_lines_carry_the_request_id_and_no_token(database_url, instance_dir):
    run = subprocess.run(
        [sys.executable, "-c", _JSON_LOG_SCRIPT, str(instance_dir), database_url],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
        check=True,
    )
    lines = [json.loads(line) for line in run.stderr.splitlines() if line.startswith("{")]
    assert lines, run.stderr
    warning = next(line for line in lines if line["level"] == "WARNING")
    assert warning["request_id"] == "req-123"
    assert "secret-download-token" not in run.stderr
    assert warning["message"] == "looked at /api/v1/passes/apple/….pkpass"
    outside = next(line for line in lines if line["message"] == "outside a request")
    assert outside["request_id"] == "-" and outside["logger"] == "gateway.elsewhere"
