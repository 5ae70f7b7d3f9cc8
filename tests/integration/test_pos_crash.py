"""A process killed with SIGKILL in the middle of a batch of redemptions leaves no partial state."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time

import pytest
from sqlalchemy import func, select

from gateway.domain.pos_requests import RedemptionRequest
from gateway.models.outbox import OutboxEvent
from gateway.models.pos import Redemption
from gateway.pos.redemptions import redeem_within
from gateway.pos.terminals import hash_key
from gateway.runtime import runtime
from tests.factories import enroll_member
from tests.integration.conftest import account_state, assert_ledger_consistent, new_till

pytestmark = pytest.mark.slow
COMMITTED_BEFORE_KILL = 3


def _redeem_batch(app, key: str, checkout: str, ready) -> None:
    """Child: commit a few redemptions, then stop inside the next transaction, rows written."""
    rt = runtime(app)
    rt.engine.dispose(close=False)  # never share the parent's connections
    with app.app_context():
        for index in range(10):
            with rt.sessions() as session:
                request = RedemptionRequest(checkout, None, 100, None, True)
                redeem_within(session, rt, hash_key(key), None, request)
                session.flush()
                if index == COMMITTED_BEFORE_KILL:
                    ready.set()
                    time.sleep(120)
                session.commit()


def test_sigkill_mid_transaction_leaves_no_partial_effect(app):
    till = new_till(app)
    member = enroll_member(app, balance=2000)
    checkout = till.checkout(member.google_scan())
    context = multiprocessing.get_context("fork")
    ready = context.Event()
    child = context.Process(target=_redeem_batch, args=(app, till.key, checkout, ready))
    child.start()
    try:
        assert ready.wait(60), "the child never reached the middle of its transaction"
        os.kill(child.pid, signal.SIGKILL)
        child.join(30)
    finally:
        if child.is_alive():
            os.kill(child.pid, signal.SIGKILL)
    assert child.exitcode == -signal.SIGKILL
    assert account_state(app, member.account_id) == (2000 - 100 * COMMITTED_BEFORE_KILL, 0)
    with runtime(app).sessions() as session:
        assert session.scalar(select(func.count()).select_from(Redemption)) == COMMITTED_BEFORE_KILL
        events = session.scalar(
            select(func.count()).where(OutboxEvent.kind == "balance.changed")
        )
        assert events == COMMITTED_BEFORE_KILL
    assert_ledger_consistent(app)
    # the database is usable right away: the next redemption goes through
    assert till.redeem(checkout, points=100).status_code == 201
