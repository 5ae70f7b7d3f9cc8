"""What the operations page shows: the outbox by kind, delivery latency, dead letters, worker
heartbeats and recent audit events — all read from the tables at the time of the request."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from gateway.models.base import utcnow
from gateway.models.outbox import AuditEvent, OutboxEvent
from gateway.models.worker_heartbeat import WorkerHeartbeat
from gateway.services.keep_live.dead_letters import dead_letters

LATENCY_WINDOW = timedelta(hours=24)
# The latency percentiles read at most this many recent deliveries per kind.
LATENCY_SAMPLE = 5000


@dataclass(frozen=True)
class KindHealth:
    """One event kind: what waits, fails and died, and how fast deliveries went (24 h)."""

    kind: str
    pending: int
    failing: int
    dead: int
    oldest_pending_seconds: float | None
    delivered_24h: int
    latency_p50_seconds: float | None
    latency_p99_seconds: float | None


@dataclass(frozen=True)
class Heartbeat:
    """A background job's last run, and whether it is late."""

    name: str
    host: str
    last_run_at: datetime
    last_ok_at: datetime | None
    last_error: str | None
    seconds_ago: float


@dataclass(frozen=True)
class OperationsView:
    """Everything the operations page shows."""

    kinds: list[KindHealth]
    dead: list[OutboxEvent]
    heartbeats: list[Heartbeat]
    audit: list[AuditEvent]


def percentile(sorted_values: list[float], share: float) -> float | None:
    """Nearest-rank percentile of an ascending list (None when empty)."""
    if not sorted_values:
        return None
    rank = min(max(math.ceil(share * len(sorted_values)), 1), len(sorted_values))
    return sorted_values[rank - 1]


def operations_view(session: Session, audit_limit: int = 50) -> OperationsView:
    """The whole page's figures."""
    now = utcnow()
    state = case(
        (OutboxEvent.dead_at.is_not(None), "dead"),
        (OutboxEvent.attempts > 0, "failing"),
        else_="pending",
    )
    counts: dict[str, dict[str, int]] = {}
    oldest: dict[str, datetime] = {}
    for kind, label, count, first in session.execute(
        select(OutboxEvent.kind, state, func.count(), func.min(OutboxEvent.created_at))
        .where(OutboxEvent.delivered_at.is_(None))
        .group_by(OutboxEvent.kind, state)
    ):
        counts.setdefault(kind, {})[label] = count
        if label != "dead" and first is not None and (kind not in oldest or first < oldest[kind]):
            oldest[kind] = first
    latencies: dict[str, list[float]] = {}
    delivered = session.execute(
        select(OutboxEvent.kind, OutboxEvent.created_at, OutboxEvent.delivered_at)
        .where(OutboxEvent.delivered_at >= now - LATENCY_WINDOW)
        .order_by(OutboxEvent.delivered_at.desc())
        .limit(LATENCY_SAMPLE * 20)
    )
    for kind, created, done in delivered:
        samples = latencies.setdefault(kind, [])
        if len(samples) < LATENCY_SAMPLE and done is not None:
            samples.append(max((done - created).total_seconds(), 0.0))
    kinds = []
    for kind in sorted(set(counts) | set(latencies)):
        by_state = counts.get(kind, {})
        samples = sorted(latencies.get(kind, []))
        first = oldest.get(kind)
        kinds.append(
            KindHealth(
                kind=kind,
                pending=by_state.get("pending", 0),
                failing=by_state.get("failing", 0),
                dead=by_state.get("dead", 0),
                oldest_pending_seconds=(now - first).total_seconds() if first else None,
                delivered_24h=len(samples),
                latency_p50_seconds=percentile(samples, 0.50),
                latency_p99_seconds=percentile(samples, 0.99),
            )
        )
    heartbeats = [
        Heartbeat(
            row.name,
            row.host,
            row.last_run_at,
            row.last_ok_at,
            row.last_error if row.last_ok_at != row.last_run_at else None,
            max((now - row.last_run_at).total_seconds(), 0.0),
        )
        for row in session.scalars(select(WorkerHeartbeat).order_by(WorkerHeartbeat.name))
    ]
    audit = list(
        session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(audit_limit))
    )
    return OperationsView(kinds, dead_letters(session), heartbeats, audit)
