"""The last run of each background job (outbox delivery, housekeeping), for /readyz and ops."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from gateway.models.base import Base


class WorkerHeartbeat(Base):
    """One row per job name; any worker on any host writes it after each run."""

    __tablename__ = "worker_heartbeats"

    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    host: Mapped[str] = mapped_column(String(120), default="")
    last_run_at: Mapped[datetime]
    # The last run that raised nothing, and what the last failing run raised (type only).
    last_ok_at: Mapped[datetime | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(String(300), default=None)
