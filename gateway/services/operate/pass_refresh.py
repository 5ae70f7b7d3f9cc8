"""Carry a program change that shows on passes to every issued pass, through the outbox.

`start_refresh` writes, in the caller's transaction, a PassRefresh row and one `pass.restyled`
event per pass (plus one `google.class.restyled` event when the program has Google passes). The
handlers in gateway/services/keep_live/pass_restyle.py do the work and count each pass once in
`done`; `refresh_progress` is what the console's progress bar polls.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from gateway.domain.errors import GatewayError
from gateway.models.base import utcnow
from gateway.models.card import Card, WalletPass
from gateway.models.outbox import OutboxEvent
from gateway.models.pass_refresh import PassRefresh
from gateway.models.program import Program
from gateway.services.keep_live.outbox import new_event_id

RESTYLE_EVENT = "pass.restyled"
CLASS_RESTYLE_EVENT = "google.class.restyled"
_BATCH = 1000


@dataclass(frozen=True, slots=True)
class RefreshProgress:
    """Where a fan-out stands: `failed` counts passes whose delivery failed and is being retried."""

    refresh_id: int
    program_id: int
    total: int
    done: int
    failed: int

    @property
    def finished(self) -> bool:
        """Every pass has been updated."""
        return self.done >= self.total

    @property
    def percent(self) -> int:
        """Done as a whole percentage (100 when there was nothing to update)."""
        return 100 if self.total == 0 else min(100, self.done * 100 // self.total)

    def as_json(self) -> dict[str, Any]:
        """The JSON the progress page polls."""
        return {
            "refresh_id": self.refresh_id,
            "total": self.total,
            "done": self.done,
            "failed": self.failed,
            "percent": self.percent,
            "finished": self.finished,
        }


def _issued_passes(program: Program) -> Any:
    # Passes of active cards: a revoked card's passes are dead and stay as they are.
    return (
        select(WalletPass.id)
        .join(Card, Card.id == WalletPass.card_id)
        .where(Card.program_id == program.id, Card.status == "active")
    )


def start_refresh(session: Session, program: Program, actor: str, reason: str) -> PassRefresh:
    """Queue the update of every issued pass of `program`; no commit (the caller's transaction)."""
    refresh = PassRefresh(
        program_id=program.id, actor=actor[:80], reason=reason[:120], total=0, done=0, failed=0
    )
    session.add(refresh)
    session.flush()  # the id goes into every event
    has_google = session.scalar(
        select(_issued_passes(program).where(WalletPass.wallet == "google").exists())
    )
    if has_google:
        session.add(
            OutboxEvent(
                event_id=new_event_id(),
                kind=CLASS_RESTYLE_EVENT,
                payload={"refresh_id": refresh.id, "program_id": program.id},
            )
        )
        session.flush()  # the class first: delivered before the objects
    total, last_id = 0, 0
    while True:  # in batches by id: a million passes never sit in memory at once
        ids = list(
            session.scalars(
                _issued_passes(program)
                .where(WalletPass.id > last_id)
                .order_by(WalletPass.id)
                .limit(_BATCH)
            )
        )
        if not ids:
            break
        now = utcnow()
        session.execute(
            insert(OutboxEvent),
            [
                {
                    "event_id": new_event_id(),
                    "kind": RESTYLE_EVENT,
                    "payload": {"refresh_id": refresh.id, "pass_id": pass_id},
                    "created_at": now,
                    "next_attempt_at": now,
                    "attempts": 0,
                }
                for pass_id in ids
            ],
        )
        total, last_id = total + len(ids), ids[-1]
    refresh.total = total
    return refresh


def refresh_progress(session: Session, refresh_id: int) -> RefreshProgress:
    """Total, done and failed of one refresh; 404 `not_found` for an unknown id."""
    refresh = session.get(PassRefresh, refresh_id, populate_existing=True)
    if refresh is None:
        raise GatewayError("not_found", "There is no such pass update.", 404)
    return RefreshProgress(
        refresh.id, refresh.program_id, refresh.total, refresh.done, refresh.failed
    )


def latest_refresh(session: Session, program: Program) -> RefreshProgress | None:
    """The program's most recent refresh, if any."""
    refresh_id = session.scalar(
        select(func.max(PassRefresh.id)).where(PassRefresh.program_id == program.id)
    )
    return None if refresh_id is None else refresh_progress(session, refresh_id)
