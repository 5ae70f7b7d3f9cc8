"""Worker heartbeats: each background job records its last run (read by /readyz and ops)."""

from __future__ import annotations

import socket
from datetime import datetime

from sqlalchemy.orm import Session

from gateway.models.base import utcnow
from gateway.models.worker_heartbeat import WorkerHeartbeat

OUTBOX_DELIVERY = "outbox_delivery"
HOUSEKEEPING = "housekeeping"


def beat(session: Session, name: str, error: BaseException | None = None) -> None:
    """Record a run of job `name` (failed when `error` is given). Commits."""
    now = utcnow()
    row = session.get(WorkerHeartbeat, name, with_for_update=True)
    if row is None:
        row = WorkerHeartbeat(name=name, last_run_at=now)
        session.add(row)
    row.host = socket.gethostname()[:120]
    row.last_run_at = now
    if error is None:
        row.last_ok_at = now
    else:
        # The type only: an exception's text may carry a URL with a token or a member's data.
        row.last_error = type(error).__name__[:300]
    session.commit()


def last_runs(session: Session) -> dict[str, datetime]:
    """Every job's last run."""
    return {row.name: row.last_run_at for row in session.query(WorkerHeartbeat).all()}
