"""One round of the background worker: housekeeping when due, then outbox delivery; each job
records a heartbeat, and a failing job is logged and retried next round, never fatal."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from gateway.runtime import Runtime
from gateway.services.chores.heartbeats import HOUSEKEEPING, OUTBOX_DELIVERY, beat
from gateway.services.chores.housekeeping import run_housekeeping
from gateway.services.keep_live.outbox import deliver_pending

log = logging.getLogger(__name__)
T = TypeVar("T")
# Delivery runs every second; its heartbeat is written at most this often.
BEAT_EVERY_SECONDS = 10.0


class Worker:
    """Keeps the schedule between rounds (when housekeeping is due, when to beat next)."""

    def __init__(self, rt: Runtime, chores_every: float) -> None:
        self.rt = rt
        self.chores_every = chores_every
        self.next_chores = 0.0
        self.next_beat = 0.0

    def round(self) -> tuple[int, dict[str, int] | None]:
        """Events delivered, and what housekeeping did (None when it was not due or failed)."""
        done = None
        now = time.monotonic()
        if now >= self.next_chores:
            self.next_chores = now + self.chores_every
            done = self._job(HOUSEKEEPING, lambda: run_housekeeping(self.rt), always_beat=True)
        delivered = self._job(OUTBOX_DELIVERY, lambda: deliver_pending(self.rt))
        return delivered or 0, done

    def _job(self, name: str, job: Callable[[], T], always_beat: bool = False) -> T | None:
        error: BaseException | None = None
        result: T | None = None
        try:
            result = job()
        except Exception as exc:  # the worker keeps running; the heartbeat shows the failure
            error = exc
            log.exception("worker job %s failed", name)
        now = time.monotonic()
        if always_beat or error is not None or now >= self.next_beat:
            if name == OUTBOX_DELIVERY:
                self.next_beat = now + BEAT_EVERY_SECONDS
            try:
                with self.rt.sessions() as session:
                    beat(session, name, error)
            except Exception:  # the database is away: the next round tries again
                log.exception("worker heartbeat %s not recorded", name)
        return result
