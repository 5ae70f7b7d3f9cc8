"""Outbox handlers: a program's new look carried to one issued pass (and to the Google class).

One `pass.restyled` event per pass, and one handler that does the whole job for that pass, so a
retried Google patch never pushes Apple devices again. The pass is counted in PassRefresh.done
in the same transaction that marks its event delivered, guarded by `delivered_at IS NULL`: a
delivery replayed after a crash, or run twice by two workers, counts once.
"""

from __future__ import annotations

from sqlalchemy import case, update
from sqlalchemy.orm import Session

from gateway.models.base import utcnow
from gateway.models.card import WalletPass
from gateway.models.outbox import OutboxEvent
from gateway.models.pass_refresh import PassRefresh
from gateway.models.program import Program
from gateway.runtime import Runtime
from gateway.services.keep_live.apple_push import push_apple_pass_update
from gateway.services.keep_live.apple_updates import next_update_time
from gateway.services.keep_live.google_objects import (
    class_content,
    object_content,
    wallet_client,
)
from gateway.services.keep_live.outbox import handles
from gateway.services.operate.pass_refresh import CLASS_RESTYLE_EVENT, RESTYLE_EVENT
from passes.google.objects import loyalty_class, object_patch

_RETRYING = "restyle failed; retrying"


def _bump_apple_pass(rt: Runtime, pass_id: int) -> None:
    with rt.sessions() as session:
        wallet_pass = session.get(WalletPass, pass_id, with_for_update=True)
        if wallet_pass is not None:
            wallet_pass.update_tag += 1
            wallet_pass.updated_at = next_update_time(wallet_pass.updated_at, utcnow())
        session.commit()


def _patch_google_object(rt: Runtime, pass_id: int) -> None:
    # Like balance changes: without an API, or before the object exists, there is nothing to patch
    # (a queued object is inserted later from the database, with the new look).
    if not rt.settings.google_api_base_url:
        return
    with rt.sessions() as session:
        wallet_pass = session.get(WalletPass, pass_id)
        if wallet_pass is None or wallet_pass.google_state in (None, "queued"):
            return
        content = object_content(session, rt, wallet_pass)
        object_id = wallet_pass.google_object_id
        session.commit()  # no transaction held open across the HTTP call
    assert object_id is not None
    wallet_client(rt).patch_object(object_id, object_patch(content))


def _count_done(session: Session, event: OutboxEvent) -> None:
    """Mark the event delivered and count its pass, once; a previous failure is uncounted."""
    claimed = session.execute(
        update(OutboxEvent)
        .where(OutboxEvent.id == event.id, OutboxEvent.delivered_at.is_(None))
        .values(delivered_at=utcnow())
        .returning(OutboxEvent.last_error)
    ).one_or_none()
    if claimed is not None:
        had_failed = claimed[0] is not None
        session.execute(
            update(PassRefresh)
            .where(PassRefresh.id == int(event.payload["refresh_id"]))
            .values(
                done=PassRefresh.done + 1,
                # Never below zero, even if the failure was never counted (a crash between).
                failed=case((PassRefresh.failed > 0, PassRefresh.failed - 1), else_=0)
                if had_failed
                else PassRefresh.failed,
            )
        )
    session.commit()


def _count_failed(session: Session, event: OutboxEvent) -> None:
    """Count the pass as failing on its first failure only (last_error is still empty then)."""
    marked = session.execute(
        update(OutboxEvent)
        .where(
            OutboxEvent.id == event.id,
            OutboxEvent.delivered_at.is_(None),
            OutboxEvent.last_error.is_(None),
        )
        .values(last_error=_RETRYING)
    )
    if getattr(marked, "rowcount", 0) == 1:
        session.execute(
            update(PassRefresh)
            .where(PassRefresh.id == int(event.payload["refresh_id"]))
            .values(failed=PassRefresh.failed + 1)
        )
    session.commit()


@handles(RESTYLE_EVENT)
def restyle_pass(rt: Runtime, event: OutboxEvent) -> None:
    """Apple: bump the update tag and push the devices; Google: patch the object. Then count."""
    pass_id = int(event.payload["pass_id"])
    with rt.sessions() as session:
        wallet = session.get(WalletPass, pass_id)
        kind = wallet.wallet if wallet is not None else None
        session.commit()
        try:
            if kind == "apple":
                _bump_apple_pass(rt, pass_id)
                push_apple_pass_update(rt, event)
            elif kind == "google":
                _patch_google_object(rt, pass_id)
        except Exception:
            _count_failed(session, event)
            raise  # the outbox retries it with backoff
        _count_done(session, event)


@handles(CLASS_RESTYLE_EVENT)
def restyle_google_class(rt: Runtime, event: OutboxEvent) -> None:
    """Patch the program's loyalty class (name, logo, background color)."""
    if not rt.settings.google_api_base_url:
        return
    client = wallet_client(rt)
    with rt.sessions() as session:
        program = session.get(Program, int(event.payload["program_id"]))
        if program is None:
            return
        body = loyalty_class(class_content(rt, program))
        session.commit()
    client.upsert_class(body)
    rt.google_classes_synced.add(int(event.payload["program_id"]))
