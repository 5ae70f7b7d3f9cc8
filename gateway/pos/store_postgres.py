"""The POS store on PostgreSQL: the hot paths as single prepared statements on psycopg.

Identify reads and records its code on a pooled connection of its own in autocommit (no
Session work per request); a redemption's read pipelines BEGIN, and its one write statement
(balance, ledger, FIFO buckets, redemption, audit, outbox, key) may carry the COMMIT. Each
statement is all or nothing: a lost race writes no row at all.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, String, and_, bindparam, func, literal_column, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from gateway.models.base import utcnow
from gateway.models.pos import IdempotencyRecord
from gateway.pos import hot_sql
from gateway.pos.errors import idempotency_in_progress, insufficient_points
from gateway.pos.idempotency import KEY_RECORD, KeyRecord, KeyWrite, key_lock
from gateway.pos.ledger import change_documents
from gateway.pos.reads import (
    RedemptionRead,
    ScanRead,
    decode_redemption,
    decode_scan,
    redemption_statement,
    scan_statement,
)
from gateway.pos.store import CodeAcceptance, RedemptionQuery, RedemptionWrite, ScanUnit
from gateway.pos.store_portable import PortablePosStore
from gateway.pos.terminals import TOUCH, TerminalContext, touch_params
from gateway.services.keep_live.outbox import code_used_payload, new_event_id

# The code is recorded once (ON CONFLICT DO NOTHING), and the Apple writes hang off that row.
_ACCEPT = """
WITH used AS (
    INSERT INTO used_codes (pass_id, step, terminal_id, used_at)
    VALUES (:pass_id, :step, :terminal_id, :now)
    ON CONFLICT (pass_id, step) DO NOTHING
    RETURNING id
){apple}
SELECT count(*) FROM used
"""
_ACCEPT_APPLE = """, advanced AS (
    UPDATE passes
    SET code_counter = :step + 1, code_issued_at = :now, update_tag = update_tag + 1,
        updated_at = :now
    WHERE id = :pass_id AND code_counter = :step AND EXISTS (SELECT 1 FROM used)
    RETURNING id
), event AS (
    INSERT INTO outbox (event_id, kind, payload, created_at, attempts, next_attempt_at)
    SELECT :event_id, 'pass.changed', CAST(:payload AS JSON), :now, 0, :now
    FROM used
    RETURNING id
)"""
ACCEPT = {
    apple: hot_sql.named(_ACCEPT.format(apple=_ACCEPT_APPLE if apple else ""))
    for apple in (False, True)
}

_WRITE = """
WITH {gate}account AS (
    UPDATE accounts SET balance = balance + :points, held = held + :held_change
    WHERE id = :account_id
      AND balance + :points - (held + :held_change) >= 0 AND held + :held_change >= 0{gated}
    RETURNING id
), entry AS (
    INSERT INTO ledger_entries (account_id, kind, points, held_change, remaining, expires_at,
                                actor, store_id, order_id, reference, created_at)
    SELECT :account_id, :kind, :points, :held_change, 0, NULL, :actor, :store_id, :order_id,
           :reference, :now
    FROM account
    RETURNING id
){fifo}, redemption AS (
    INSERT INTO redemptions (public_id, account_id, card_id, store_id, terminal_id, reward_id,
                             points, status, discount_percent, order_id, order_total, currency,
                             returned_points, hold_expires_at, created_at, settled_at)
    SELECT :public_id, :account_id, :card_id, :store_id, :terminal_id, :reward_id, :r_points,
           :status, :discount_percent, :order_id, :order_total, :currency, 0,
           :hold_expires_at, :now, :settled_at
    FROM account
    RETURNING id
), audit AS (
    INSERT INTO audit_events (at, actor, action, subject, details)
    SELECT :now, :actor, :action, :subject, CAST(:details AS JSON) FROM account
    RETURNING id
), event AS (
    INSERT INTO outbox (event_id, kind, payload, created_at, attempts, next_attempt_at)
    SELECT :event_id, 'balance.changed', CAST(:payload AS JSON), :now, 0, :now FROM account
    RETURNING id
)
SELECT (SELECT count(*) FROM account){counts}
"""
# Keyed: the key's record is written first, off `gate` (the balance check, read on the row the
# call has locked since its read, so the same row version the UPDATE sees), and the balance
# moves only if the record was written. So the statement either does everything (effect and
# answer) or nothing at all, which lets the caller commit in the same round trip as the write.
_WRITE_GATE = """gate AS (
    SELECT id FROM accounts
    WHERE id = :account_id
      AND balance + :points - (held + :held_change) >= 0 AND held + :held_change >= 0
), record AS (
    INSERT INTO idempotency_records
        (terminal_id, key, request_hash, status, response_status, response_body, created_at)
    SELECT :terminal_id, :key, :request_hash, 'done', :response_status, :response_body, :now
    FROM gate
    ON CONFLICT (terminal_id, key) DO UPDATE
    SET status = 'done', response_status = EXCLUDED.response_status,
        response_body = EXCLUDED.response_body, created_at = EXCLUDED.created_at
    WHERE idempotency_records.status = 'in_progress'
      AND idempotency_records.request_hash = EXCLUDED.request_hash
      AND idempotency_records.created_at = :taken_over
    RETURNING id
), """
# FIFO: the oldest buckets first. This statement's snapshot is taken after the read locked
# the account row, and every writer of an account takes that lock first, so it sees them all.
_WRITE_FIFO = """, buckets AS (
    SELECT id, remaining,
           sum(remaining) OVER (ORDER BY expires_at ASC NULLS LAST, id) AS upto
    FROM ledger_entries WHERE account_id = :account_id AND remaining > 0
), spent AS (
    UPDATE ledger_entries SET remaining = GREATEST(buckets.upto - :spent, 0)
    FROM buckets
    WHERE ledger_entries.id = buckets.id AND buckets.upto - buckets.remaining < :spent
      AND EXISTS (SELECT 1 FROM account)
    RETURNING ledger_entries.id
)"""


def _write_text(fifo: bool, keyed: bool) -> str:
    return hot_sql.named(
        _WRITE.format(
            gate=_WRITE_GATE if keyed else "",
            gated="\n      AND EXISTS (SELECT 1 FROM record)" if keyed else "",
            fifo=_WRITE_FIFO if fifo else "",
            counts=", (SELECT count(*) FROM gate), (SELECT count(*) FROM record)" if keyed else "",
        )
    )


WRITE = {(fifo, keyed): _write_text(fifo, keyed)
         for fifo in (False, True) for keyed in (False, True)}
_TOUCH = hot_sql.render(TOUCH)
_CLAIM_KEY = select(
    func.pg_try_advisory_xact_lock(bindparam("lock", type_=BigInteger())), *KEY_RECORD.columns
).select_from(
    select(literal_column("1")).subquery("one").outerjoin(
        IdempotencyRecord,
        and_(
            IdempotencyRecord.terminal_id == bindparam("terminal_id", type_=BigInteger()),
            IdempotencyRecord.key == bindparam("key", type_=String()),
        ),
    )
)


class _PostgresScan:
    """Identify's read and write on one pooled psycopg connection in autocommit."""

    def __init__(self, raw: Any) -> None:
        self._raw = raw

    def read(self, key_hash: str, number: str) -> ScanRead | None:
        text = hot_sql.render(scan_statement("postgresql"))
        rows = hot_sql.fetch_raw(self._raw, text, {"key_hash": key_hash, "number": number})
        if not rows:
            return None
        read = decode_scan(rows[0])
        now = utcnow()
        if read.terminal.seen_due(now):  # autocommit: its own short transaction
            hot_sql.fetch_raw(self._raw, _TOUCH, touch_params(read.terminal, now))
        return read

    def accept(self, code: CodeAcceptance) -> bool:
        params: dict[str, Any] = {
            "pass_id": code.pass_id,
            "step": code.step,
            "terminal_id": code.terminal_id,
            "now": code.now,
        }
        apple = code.wallet == "apple"
        if apple:
            params["event_id"] = new_event_id()
            params["payload"] = json.dumps(code_used_payload(code.pass_id, code.serial))
        return bool(hot_sql.fetch_raw(self._raw, ACCEPT[apple], params)[0][0])


class PostgresPosStore:
    """Prepared statements on psycopg; the rarer key claims go through the portable store."""

    name = "postgresql"

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._portable = PortablePosStore()

    def scanning(self, session: Session) -> AbstractContextManager[ScanUnit]:
        return self._scan()

    @contextmanager
    def _scan(self) -> Iterator[ScanUnit]:
        with hot_sql.pooled(self._engine, autocommit=True) as raw:
            yield _PostgresScan(raw)

    def read_redemption(self, session: Session, query: RedemptionQuery) -> RedemptionRead | None:
        text = hot_sql.render(redemption_statement("postgresql", query.key is not None))
        rows = hot_sql.fetch_first_in_transaction(
            session.connection(),
            text,
            {
                "key_hash": query.key_hash,
                "key": query.key,
                "lock": query.lock,
                "card_id": query.card_id,
                "reward_code": query.reward_code,
            },
        )
        if not rows:
            return None
        read = decode_redemption(rows[0])
        self._seen(read.terminal)
        return read

    def _seen(self, terminal: TerminalContext) -> None:
        """Write the till's last-seen time when due, outside the caller's transaction (which
        would otherwise hold the till's row until it ends)."""
        now = utcnow()
        if terminal.seen_due(now):
            with hot_sql.pooled(self._engine, autocommit=True) as raw:
                hot_sql.fetch_raw(raw, _TOUCH, touch_params(terminal, now))

    def write_redemption(self, session: Session, write: RedemptionWrite, *, commit: bool) -> bool:
        movement, holder = write.movement, write.holder
        spent = max(-movement.points, 0)
        keyed = write.key.key is not None
        audit_details, payload = change_documents(
            holder,
            write.balance,
            write.origin,
            reason=write.reason,
            points=movement.points,
            held_change=movement.held_change,
            **write.details,
        )
        params = {
            **write.redemption,
            "r_points": write.redemption["points"],
            "points": movement.points,
            "held_change": movement.held_change,
            "kind": movement.kind,
            "actor": write.origin.actor,
            "reference": write.origin.reference,
            "now": write.now,
            "spent": spent,
            "action": f"points.{write.reason}",
            "subject": f"account:{holder.account_id}",
            "details": json.dumps(audit_details, default=str),
            "event_id": new_event_id(),
            "payload": json.dumps(payload, default=str),
            **write.key.params(),
        }
        text = WRITE[(spent > 0, keyed)]
        conn = session.connection()
        if commit and keyed:
            row = hot_sql.fetch_and_commit(conn, text, params)[0]
        else:
            row = hot_sql.fetch(conn, text, params)[0]
        if row[0]:
            return True
        if keyed and row[1]:
            return False  # the balance check passed but the record was taken meanwhile
        raise insufficient_points()

    def claim_key(
        self, session: Session, key_hash: str, terminal_id: int, key: str
    ) -> KeyRecord | None:
        rows = hot_sql.fetch_first_in_transaction(
            session.connection(),
            hot_sql.render(_CLAIM_KEY),
            {"lock": key_lock(key_hash, key), "terminal_id": terminal_id, "key": key},
        )
        if not rows[0][0]:
            raise idempotency_in_progress()
        return KEY_RECORD.build(rows[0][1:]) if rows[0][1] is not None else None

    def store_answer(self, session: Session, write: KeyWrite, now: datetime) -> bool:
        return self._portable.store_answer(session, write, now)
