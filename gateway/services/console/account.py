"""What operators do to their own account: turn two-step sign-in off with a current code.

A wrong code counts like a wrong sign-in (the same counter and lock), so a borrowed session
cannot guess its way to removing the second factor."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from gateway.domain.errors import GatewayError
from gateway.models.base import utcnow
from gateway.models.operator import Operator
from gateway.runtime import Runtime
from gateway.services.console.second_factor import accept_code
from gateway.services.console.signin import Lockout, fail_and_maybe_lock, reserve_attempt
from gateway.services.operate.audit_trail import record_change


def turn_off_second_factor(
    rt: Runtime, session: Session, operator_id: int, code: str, address: str
) -> None:
    """Turn off the operator's own second factor after one current code (commits).

    422 `code_invalid` for a wrong or used code, 429 `too_many_attempts` while the account is
    locked; already off: nothing to do."""
    lockout = Lockout.of(rt)
    operator = session.get(Operator, operator_id)
    if operator is None or operator.totp_secret is None:
        return
    now = utcnow()
    if not reserve_attempt(session, operator_id, now, lockout):
        session.rollback()
        minutes = int(lockout.duration.total_seconds() // 60)
        raise GatewayError(
            "too_many_attempts",
            f"Too many wrong codes. Try again in {minutes} minutes.",
            429,
        )
    session.commit()
    session.refresh(operator)
    if not accept_code(rt, session, operator, code):
        fail_and_maybe_lock(
            session,
            operator_id,
            address,
            "code",
            now,
            lockout,
            action="operator.second_factor_code_failed",
        )
        raise GatewayError(
            "code_invalid",
            "That code is not right (or was used already). Enter the code your authenticator "
            "app shows now.",
            422,
            field="code",
        )
    session.execute(
        update(Operator)
        .where(Operator.id == operator_id)
        .values(totp_secret=None, totp_pending_secret=None, failed_signins=0, locked_until=None)
        .execution_options(synchronize_session=False)
    )
    record_change(
        session,
        f"operator:{operator_id}",
        "operator.second_factor_disabled",
        f"operator:{operator_id}",
        before={"second_factor": True},
        after={"second_factor": False},
        address=address,
    )
    session.commit()
    session.refresh(operator)
