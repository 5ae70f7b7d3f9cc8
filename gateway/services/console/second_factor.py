"""Optional TOTP second factor: enrol (pending secret, QR, one confirming code) and check codes.

Secrets are sealed with the secret box like pass code secrets; a code is accepted once (the
accepted time step is recorded with a conditional UPDATE)."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime

import pyotp
import segno
from sqlalchemy import update
from sqlalchemy.orm import Session

from gateway.domain.errors import GatewayError
from gateway.models.base import utcnow
from gateway.models.operator import Operator
from gateway.runtime import Runtime
from gateway.services.keep_live.outbox import audit

ISSUER = "Loyalty console"
PERIOD = 30
# Accepted clock drift, in steps either side.
DRIFT = 1


def secret_purpose(operator_id: int) -> str:
    """The secret box purpose of an operator's TOTP secret."""
    return f"operator-totp:{operator_id}"


@dataclass(frozen=True, slots=True)
class Enrolment:
    """What the enrolment page shows: the secret for typing in, and its QR as a data URI."""

    secret: str
    qr_data_uri: str


def pending_enrolment(rt: Runtime, session: Session, operator: Operator) -> Enrolment:
    """The pending secret to scan: the unconfirmed one, or a new one (commits)."""
    if operator.totp_pending_secret is not None:
        sealed = operator.totp_pending_secret
        secret = rt.secret_box.open(sealed, secret_purpose(operator.id)).decode()
    else:
        secret = pyotp.random_base32(32)
        operator.totp_pending_secret = rt.secret_box.seal(
            secret.encode(), secret_purpose(operator.id)
        )
        session.commit()
    uri = pyotp.TOTP(secret, interval=PERIOD).provisioning_uri(
        name=operator.email, issuer_name=ISSUER
    )
    return Enrolment(secret, segno.make(uri, error="m").svg_data_uri(scale=5, border=2))


def confirm_enrolment(rt: Runtime, session: Session, operator: Operator, code: str) -> None:
    """Turn the second factor on with one code of the pending secret (commits)."""
    if operator.totp_pending_secret is None:
        raise GatewayError("no_enrolment", "Open the set-up page again to get a new QR code.", 409)
    secret = rt.secret_box.open(operator.totp_pending_secret, secret_purpose(operator.id)).decode()
    step = matching_step(secret, code, utcnow())
    if step is None:
        raise GatewayError(
            "code_invalid", "That code is not right. Check the phone's clock and try again.", 422
        )
    operator.totp_secret = operator.totp_pending_secret
    operator.totp_pending_secret = None
    operator.totp_last_step = step
    audit(
        session,
        f"operator:{operator.id}",
        "operator.second_factor_enabled",
        f"operator:{operator.id}",
        before={"second_factor": False},
        after={"second_factor": True},
    )
    session.commit()


def matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step whose code is `code` (within the drift), compared in constant time."""
    totp = pyotp.TOTP(secret, interval=PERIOD)
    current = int(now.timestamp()) // PERIOD
    found = None
    for step in range(current - DRIFT, current + DRIFT + 1):
        if hmac.compare_digest(totp.generate_otp(step), code.strip()):
            found = step
    return found


def accept_code(rt: Runtime, session: Session, operator: Operator, code: str) -> bool:
    """Whether `code` is a current, not yet used code of the operator's second factor; marks
    its step used (in the caller's transaction)."""
    if operator.totp_secret is None:
        return False
    secret = rt.secret_box.open(operator.totp_secret, secret_purpose(operator.id)).decode()
    step = matching_step(secret, code, utcnow())
    if step is None:
        return False
    result = session.execute(
        update(Operator)
        .where(Operator.id == operator.id, Operator.totp_last_step < step)
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    )
    return getattr(result, "rowcount", 0) == 1
