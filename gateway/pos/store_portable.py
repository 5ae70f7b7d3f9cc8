"""The POS store on SQLAlchemy alone: the same rows as PostgreSQL's statements, on any database."""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gateway.models.base import utcnow
from gateway.models.card import WalletPass
from gateway.models.outbox import OutboxEvent
from gateway.models.pos import IdempotencyRecord, Redemption, UsedCode
from gateway.pos.idempotency import KEY_RECORD, KeyRecord, KeyWrite
from gateway.pos.ledger import apply_change
from gateway.pos.reads import (
    RedemptionRead,
    ScanRead,
    decode_redemption,
    decode_scan,
    redemption_statement,
    scan_statement,
)
from gateway.pos.store import CodeAcceptance, RedemptionQuery, RedemptionWrite, ScanUnit
from gateway.pos.terminals import touch
from gateway.services.keep_live.outbox import code_used_payload, new_event_id


class _PortableScan:
    """Identify's read and write on the session's connection, in its transaction."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def read(self, key_hash: str, number: str) -> ScanRead | None:
        statement = scan_statement(self._conn.dialect.name)
        row = self._conn.execute(statement, {"key_hash": key_hash, "number": number}).first()
        if row is None:
            return None
        read = decode_scan(row)
        touch(self._conn, read.terminal, utcnow())
        return read

    def accept(self, code: CodeAcceptance) -> bool:
        conn = self._conn
        upsert = postgresql_insert if conn.dialect.name == "postgresql" else sqlite_insert
        recorded = conn.execute(
            upsert(UsedCode)
            .values(
                pass_id=code.pass_id, step=code.step, terminal_id=code.terminal_id, used_at=code.now
            )
            .on_conflict_do_nothing(index_elements=["pass_id", "step"])
            .returning(UsedCode.id)
        ).first()
        if recorded is None:
            return False
        if code.wallet == "apple":
            conn.execute(
                update(WalletPass)
                .where(WalletPass.id == code.pass_id, WalletPass.code_counter == code.step)
                .values(
                    code_counter=code.step + 1,
                    code_issued_at=code.now,
                    update_tag=WalletPass.update_tag + 1,
                    updated_at=code.now,
                )
            )
            conn.execute(
                insert(OutboxEvent).values(
                    event_id=new_event_id(),
                    kind="pass.changed",
                    payload=code_used_payload(code.pass_id, code.serial),
                    created_at=code.now,
                    attempts=0,
                    next_attempt_at=code.now,
                )
            )
        return True


class PortablePosStore:
    """SQLAlchemy statements in the session's transaction (SQLite, or any other database)."""

    name = "portable"

    def scanning(self, session: Session) -> AbstractContextManager[ScanUnit]:
        return nullcontext(_PortableScan(session.connection()))

    def read_redemption(self, session: Session, query: RedemptionQuery) -> RedemptionRead | None:
        conn = session.connection()
        statement = redemption_statement(conn.dialect.name, query.key is not None)
        row = conn.execute(
            statement,
            {
                "key_hash": query.key_hash,
                "key": query.key,
                "lock": query.lock,
                "card_id": query.card_id,
                "reward_code": query.reward_code,
            },
        ).first()
        if row is None:
            return None
        read = decode_redemption(row)
        touch(conn, read.terminal, utcnow())
        return read

    def write_redemption(self, session: Session, write: RedemptionWrite, *, commit: bool) -> bool:
        balance = apply_change(
            session,
            write.holder,
            [write.movement],
            write.origin,
            reason=write.reason,
            **write.details,
        )
        if balance != write.balance:  # pragma: no cover - the account row is locked since the read
            raise AssertionError(f"balance moved under a locked account: {balance}")
        session.execute(insert(Redemption).values(**write.redemption))
        return write.key.key is None or self.store_answer(session, write.key, write.now)

    def claim_key(
        self, session: Session, key_hash: str, terminal_id: int, key: str
    ) -> KeyRecord | None:
        row = session.execute(
            select(*KEY_RECORD.columns).where(
                IdempotencyRecord.terminal_id == terminal_id, IdempotencyRecord.key == key
            )
        ).first()
        return KEY_RECORD.build(row) if row is not None else None

    def store_answer(self, session: Session, write: KeyWrite, now: datetime) -> bool:
        params = write.params()
        if write.taken_over is not None:
            taken = session.execute(
                update(IdempotencyRecord)
                .where(
                    IdempotencyRecord.terminal_id == write.terminal_id,
                    IdempotencyRecord.key == write.key,
                    IdempotencyRecord.status == "in_progress",
                    IdempotencyRecord.created_at == write.taken_over,
                )
                .values(
                    status="done",
                    response_status=params["response_status"],
                    response_body=params["response_body"],
                    created_at=now,
                )
                .execution_options(synchronize_session=False)
            )
            return bool(getattr(taken, "rowcount", 0) == 1)
        try:
            with session.begin_nested():
                session.execute(
                    insert(IdempotencyRecord).values(
                        terminal_id=write.terminal_id,
                        key=write.key,
                        request_hash=write.request_hash,
                        status="done",
                        response_status=params["response_status"],
                        response_body=params["response_body"],
                        created_at=now,
                    )
                )
        except IntegrityError:
            return False
        return True
