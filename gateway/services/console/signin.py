"""Sign-in, lockout and console sessions.

Each attempt first reserves one of the operator's failed-attempt slots with a conditional UPDATE
(committed before the slow password check), so parallel wrong passwords cannot make more than
`CONSOLE_FAILED_SIGNINS_BEFORE_LOCK` attempts; the last allowed failure locks the account for
`CONSOLE_LOCK_MINUTES`. The error never says whether the e-mail exists, the account is locked, or
which part was wrong."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from gateway.domain.errors import GatewayError
from gateway.models.base import utcnow
from gateway.models.operator import Operator, OperatorSession
from gateway.runtime import Runtime
from gateway.services.console.operators import token_hash
from gateway.services.console.passwords import hash_password, needs_rehash, verify_password
from gateway.services.console.rate_limits import WINDOW_MINUTES
from gateway.services.console.second_factor import accept_code
from gateway.services.keep_live.outbox import audit

# last_seen_at is written at most this often (not on every page view).
SEEN_RESOLUTION = timedelta(seconds=60)


@dataclass(frozen=True, slots=True)
class Lockout:
    """How many failures lock an account, and for how long (from the settings)."""

    max_failed: int
    duration: timedelta

    @classmethod
    def of(cls, rt: Runtime) -> Lockout:
        """The lockout policy of the running gateway."""
        settings = rt.settings
        return cls(
            settings.console_failed_signins_before_lock,
            timedelta(minutes=settings.console_lock_minutes),
        )


def signin_failed(lockout: Lockout) -> GatewayError:
    """401 `signin_failed`: the same answer for every reason."""
    minutes = int(lockout.duration.total_seconds() // 60)
    return GatewayError(
        "signin_failed",
        "That did not work: check the e-mail, password and code. After "
        f"{lockout.max_failed} wrong attempts an account is locked for {minutes} minutes.",
        401,
    )


def sign_in(
    rt: Runtime, session: Session, email: str, password: str, code: str, address: str
) -> str:
    """A new console session token for the operator (commits); 401 `signin_failed` or 429
    `rate_limited`."""
    _admit(rt, session, address)
    lockout = Lockout.of(rt)
    operator = session.scalar(select(Operator).where(Operator.email == email.strip().lower()))
    if operator is None:
        verify_password(None, password)  # the same time as for a known e-mail
        _failed(session, "operator:unknown", address, "unknown_email")
        raise signin_failed(lockout)
    now = utcnow()
    if not reserve_attempt(session, operator.id, now, lockout):
        _failed(session, f"operator:{operator.id}", address, "locked")
        raise signin_failed(lockout)
    session.commit()
    session.refresh(operator)
    if not verify_password(operator.password_hash, password):
        fail_and_maybe_lock(session, operator.id, address, "password", now, lockout)
        raise signin_failed(lockout)
    if operator.totp_secret is not None and not accept_code(rt, session, operator, code):
        fail_and_maybe_lock(session, operator.id, address, "code", now, lockout)
        raise signin_failed(lockout)
    return _open_session(session, operator, password, address, now)


def _admit(rt: Runtime, session: Session, address: str) -> None:
    if rt.signin_limiter.admit(address):
        return
    if rt.signin_limiter.first_refusal(address):
        audit(session, f"address:{address}"[:80], "console.signin_rate_limited", "console")
        session.commit()
    raise GatewayError(
        "rate_limited",
        f"Too many sign-in attempts from this network. Try again in {WINDOW_MINUTES} minutes.",
        429,
    )


def reserve_attempt(session: Session, operator_id: int, now: datetime, lockout: Lockout) -> bool:
    """Count one attempt before it is checked; False when the account is locked (the caller
    commits)."""
    # A lock that has run out starts a fresh count (conditional: only one attempt resets it).
    session.execute(
        update(Operator)
        .where(Operator.id == operator_id, Operator.locked_until <= now)
        .values(failed_signins=0, locked_until=None)
        .execution_options(synchronize_session=False)
    )
    result = session.execute(
        update(Operator)
        .where(
            Operator.id == operator_id,
            Operator.failed_signins < lockout.max_failed,
            Operator.locked_until.is_(None),
        )
        .values(failed_signins=Operator.failed_signins + 1)
        .execution_options(synchronize_session=False)
    )
    return getattr(result, "rowcount", 0) == 1


def _failed(session: Session, subject: str, address: str, reason: str) -> None:
    audit(session, subject, "operator.signin_failed", subject, address=address, reason=reason)
    session.commit()


def fail_and_maybe_lock(
    session: Session,
    operator_id: int,
    address: str,
    reason: str,
    now: datetime,
    lockout: Lockout,
    *,
    action: str = "operator.signin_failed",
) -> None:
    """Keep the counted failure (audited as `action`); the last allowed one locks the account
    (audited `operator.locked`). Rolls back everything else of the attempt, commits."""
    session.rollback()  # nothing of this attempt is kept but the counted failure
    subject = f"operator:{operator_id}"
    audit(session, subject, action, subject, address=address, reason=reason)
    until = now + lockout.duration
    locked = session.execute(
        update(Operator)
        .where(
            Operator.id == operator_id,
            Operator.failed_signins >= lockout.max_failed,
            Operator.locked_until.is_(None),
        )
        .values(locked_until=until)
        .execution_options(synchronize_session=False)
    )
    if getattr(locked, "rowcount", 0) == 1:
        audit(
            session,
            subject,
            "operator.locked",
            subject,
            address=address,
            after={"locked_until": until.isoformat()},
        )
    session.commit()


def _open_session(
    session: Session, operator: Operator, password: str, address: str, now: datetime
) -> str:
    values: dict[str, object] = {"failed_signins": 0, "locked_until": None, "last_signin_at": now}
    if operator.password_hash is not None and needs_rehash(operator.password_hash):
        values["password_hash"] = hash_password(password)
    session.execute(
        update(Operator)
        .where(Operator.id == operator.id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    token = secrets.token_urlsafe(32)
    session.add(
        OperatorSession(
            token_hash=token_hash(token), operator_id=operator.id, created_at=now, last_seen_at=now
        )
    )
    subject = f"operator:{operator.id}"
    audit(session, subject, "operator.signed_in", subject, address=address)
    session.commit()
    return token


def session_operator(session: Session, token: str, idle: timedelta) -> tuple[Operator | None, bool]:
    """The operator signed in with this session token, and whether the session just ended for
    idle time (its row is deleted then; commits when it writes)."""
    row = session.scalar(
        select(OperatorSession).where(OperatorSession.token_hash == token_hash(token))
    )
    if row is None:
        return None, False
    now = utcnow()
    if now - row.last_seen_at > idle:
        session.delete(row)
        audit(
            session,
            f"operator:{row.operator_id}",
            "operator.session_expired",
            f"operator:{row.operator_id}",
        )
        session.commit()
        return None, True
    if now - row.last_seen_at > SEEN_RESOLUTION:
        row.last_seen_at = now
        session.commit()
    return session.get(Operator, row.operator_id), False


def sign_out(session: Session, token: str) -> None:
    """End the session of this token (commits; nothing to do when it has ended already)."""
    row = session.scalar(
        select(OperatorSession).where(OperatorSession.token_hash == token_hash(token))
    )
    if row is None:
        return
    subject = f"operator:{row.operator_id}"
    session.execute(delete(OperatorSession).where(OperatorSession.id == row.id))
    audit(session, subject, "operator.signed_out", subject)
    session.commit()


def record_forbidden(
    session: Session, operator: Operator, action: str, needed: tuple[str, ...]
) -> None:
    """Audit an operator's attempt at something their role does not allow (commits)."""
    subject = f"operator:{operator.id}"
    audit(
        session,
        subject,
        "console.forbidden",
        action[:80],
        role=operator.role,
        needed=list(needed),
    )
    session.commit()
