"""Outbox and worker figures read from the database at scrape time (nothing to drift): events
pending, failing and dead per kind, the age of the oldest pending one, delivery latency of the
last hour as a histogram, and each background job's seconds since its last run."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import ColumnElement, Float, case, cast, func, select

from gateway.models.base import utcnow
from gateway.models.outbox import OutboxEvent
from gateway.models.worker_heartbeat import WorkerHeartbeat
from gateway.runtime import Runtime

LATENCY_BUCKETS = (1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0)
LATENCY_WINDOW_SECONDS = 3600


class OutboxCollector(Collector):
    """A Prometheus collector over the outbox and heartbeat tables of one runtime."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def collect(self) -> Iterator[Metric]:
        """The gauges and the latency histogram."""
        now = utcnow()
        queue = GaugeMetricFamily(
            "gateway_outbox_events",
            "Undelivered outbox events by kind and state (pending, failing, dead).",
            labels=["kind", "state"],
        )
        oldest = GaugeMetricFamily(
            "gateway_outbox_oldest_pending_seconds",
            "Age of the oldest undelivered, not dead event, by kind.",
            labels=["kind"],
        )
        latency = HistogramMetricFamily(
            "gateway_outbox_delivery_latency_seconds",
            "From the change to its acknowledged delivery (APNs, Google, CRM), events delivered "
            "in the last hour, by kind.",
            labels=["kind"],
        )
        beats = GaugeMetricFamily(
            "gateway_worker_seconds_since_run",
            "Seconds since each background job last ran.",
            labels=["job"],
        )
        state = case(
            (OutboxEvent.dead_at.is_not(None), "dead"),
            (OutboxEvent.attempts > 0, "failing"),
            else_="pending",
        )
        ages: dict[str, float] = {}
        with self.rt.sessions() as session:
            for kind, label, count, first in session.execute(
                select(OutboxEvent.kind, state, func.count(), func.min(OutboxEvent.created_at))
                .where(OutboxEvent.delivered_at.is_(None))
                .group_by(OutboxEvent.kind, state)
            ):
                queue.add_metric([kind, label], count)
                if label != "dead" and first is not None:
                    age = max((now - first).total_seconds(), 0.0)
                    ages[kind] = max(age, ages.get(kind, 0.0))
            seconds = _latency_seconds(self.rt.engine.dialect.name)
            window = now - timedelta(seconds=LATENCY_WINDOW_SECONDS)
            histogram = session.execute(
                select(
                    OutboxEvent.kind,
                    func.count(),
                    func.coalesce(func.sum(seconds), 0.0),
                    *(func.sum(case((seconds <= bound, 1), else_=0)) for bound in LATENCY_BUCKETS),
                )
                .where(OutboxEvent.delivered_at >= window)
                .group_by(OutboxEvent.kind)
            ).all()
            for row in session.scalars(select(WorkerHeartbeat)):
                beats.add_metric([row.name], max((now - row.last_run_at).total_seconds(), 0.0))
        for kind, age in ages.items():
            oldest.add_metric([kind], age)
        for kind, count, total, *cumulative in histogram:
            buckets = [
                (str(b), int(c or 0)) for b, c in zip(LATENCY_BUCKETS, cumulative, strict=True)
            ]
            buckets.append(("+Inf", int(count)))
            latency.add_metric([kind], buckets, float(total))
        yield from (queue, oldest, latency, beats)


def _latency_seconds(dialect: str) -> ColumnElement[float]:
    """delivered_at - created_at in seconds, in this database's SQL."""
    if dialect == "postgresql":
        return cast(func.extract("epoch", OutboxEvent.delivered_at - OutboxEvent.created_at), Float)
    return (
        func.julianday(OutboxEvent.delivered_at) - func.julianday(OutboxEvent.created_at)
    ) * 86400.0
