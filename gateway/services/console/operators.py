"""Operator accounts: create, issue the one-time set-password link, set the password, list,
change the role (never leaving no admin), turn off another operator's second factor."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from gateway.domain.errors import GatewayError, validation_error
from gateway.models.base import utcnow
from gateway.models.operator import ROLES, Operator, OperatorSession
from gateway.services.console.passwords import check_new_password, hash_password
from gateway.services.keep_live.outbox import audit
from gateway.services.operate.audit_trail import record_change
from gateway.services.operate.field_errors import FieldErrors

LINK_TTL = timedelta(hours=24)
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


@dataclass(frozen=True, slots=True)
class PasswordLink:
    """A set-password link's token (shown once) and when it stops working."""

    token: str
    expires_at: datetime


def normalize_email(email: str) -> str:
    """The e-mail as stored: trimmed and lower-cased; 422 when it is not an address."""
    value = email.strip().lower()
    if len(value) > 254 or not _EMAIL.fullmatch(value):
        raise validation_error("email", "Enter an e-mail address like name@example.com.")
    return value


def token_hash(token: str) -> str:
    """How a link or session token is stored."""
    return hashlib.sha256(token.encode()).hexdigest()


def set_password_path(token: str) -> str:
    """The path of the set-password page for a token."""
    return f"/console/set-password/{token}"


def _new_link(operator: Operator, now: datetime) -> PasswordLink:
    token = secrets.token_urlsafe(32)
    operator.password_token_hash = token_hash(token)
    operator.password_token_expires_at = now + LINK_TTL
    return PasswordLink(token, now + LINK_TTL)


def create_operator(
    session: Session, email: str, role: str, actor: str
) -> tuple[Operator, PasswordLink]:
    """A new operator without a password, and the link to set it (commits)."""
    if role not in ROLES:
        raise validation_error("role", f"Choose one of: {', '.join(ROLES)}.")
    address = normalize_email(email)
    if session.scalar(select(Operator.id).where(Operator.email == address)) is not None:
        raise GatewayError("operator_exists", f"an operator {address} already exists", 409)
    now = utcnow()
    operator = Operator(email=address, role=role, created_at=now)
    link = _new_link(operator, now)
    session.add(operator)
    session.flush()
    audit(session, actor, "operator.created", f"operator:{operator.id}", after={"role": role})
    session.commit()
    return operator, link


def issue_password_link(session: Session, email: str, actor: str) -> PasswordLink:
    """A new set-password link for an operator (the previous one stops working; commits)."""
    operator = find_operator(session, email)
    if operator is None:
        raise GatewayError("unknown_operator", f"no operator {email.strip().lower()}", 404)
    link = _new_link(operator, utcnow())
    audit(session, actor, "operator.password_link_issued", f"operator:{operator.id}")
    session.commit()
    return link


def find_operator(session: Session, email: str) -> Operator | None:
    """The operator with this e-mail (any case), if any."""
    return session.scalar(select(Operator).where(Operator.email == email.strip().lower()))


def operator_for_link(session: Session, token: str) -> Operator | None:
    """The operator whose unused, unexpired set-password link this is."""
    return session.scalar(
        select(Operator).where(
            Operator.password_token_hash == token_hash(token),
            Operator.password_token_expires_at > utcnow(),
        )
    )


def set_password(session: Session, token: str, password: str, confirm: str) -> Operator:
    """Set the password through a link; the link works once, and every sign-in of the
    operator ends (commits). 404 `link_invalid` for a used, expired or unknown link."""
    check_new_password(password, confirm)
    hashed = hash_password(password)
    operator = operator_for_link(session, token)
    if operator is None:
        raise _link_invalid()
    # Conditional on the token still being there: two submissions, one wins.
    result = session.execute(
        update(Operator)
        .where(Operator.id == operator.id, Operator.password_token_hash == token_hash(token))
        .values(
            password_hash=hashed,
            password_token_hash=None,
            password_token_expires_at=None,
            failed_signins=0,
            locked_until=None,
        )
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 0) != 1:
        session.rollback()
        raise _link_invalid()
    session.execute(delete(OperatorSession).where(OperatorSession.operator_id == operator.id))
    audit(session, f"operator:{operator.id}", "operator.password_set", f"operator:{operator.id}")
    session.commit()
    session.refresh(operator)
    return operator


def _link_invalid() -> GatewayError:
    return GatewayError(
        "link_invalid",
        "This link has already been used or has expired. Ask an administrator for a new one.",
        404,
    )


def list_operators(session: Session) -> list[Operator]:
    """Every operator, by e-mail."""
    return list(session.scalars(select(Operator).order_by(Operator.email)))


def operator_state(operator: Operator, now: datetime) -> str:
    """`password_not_set`, `locked` or `active`."""
    if operator.password_hash is None:
        return "password_not_set"
    if operator.locked_until is not None and operator.locked_until > now:
        return "locked"
    return "active"


def operator_summary(operator: Operator, now: datetime) -> dict[str, object]:
    """What lists and the admin API show of an operator (never a hash or a secret)."""
    return {
        "id": operator.id,
        "email": operator.email,
        "role": operator.role,
        "second_factor": operator.totp_secret is not None,
        "state": operator_state(operator, now),
        "locked_until": operator.locked_until.isoformat()
        if operator.locked_until is not None and operator.locked_until > now
        else None,
        "created_at": operator.created_at.isoformat(),
        "last_signin_at": operator.last_signin_at.isoformat()
        if operator.last_signin_at is not None
        else None,
    }


def get_operator(session: Session, operator_id: int) -> Operator:
    """The operator with this id; 404 `unknown_operator`."""
    operator = session.get(Operator, operator_id)
    if operator is None:
        raise GatewayError("unknown_operator", "There is no such operator.", 404)
    return operator


def change_role(session: Session, operator_id: int, role: str, actor: str) -> Operator:
    """Give an operator another role (commits). 409 `last_admin` when it would leave no admin
    who can sign in; the same role again changes nothing."""
    if role not in ROLES:
        raise FieldErrors({"role": f"Choose one of: {', '.join(ROLES)}."})
    # Lock every admin row first, always in id order, so two admins demoting each other at once
    # queue up here and the second one sees the first one's change (no zero-admin race).
    admins = list(
        session.scalars(
            select(Operator).where(Operator.role == "admin").order_by(Operator.id).with_for_update()
        )
    )
    operator = session.get(Operator, operator_id, with_for_update=True)
    if operator is None:
        session.rollback()
        raise GatewayError("unknown_operator", "There is no such operator.", 404)
    before = operator.role
    if before == role:
        session.commit()
        return operator
    if before == "admin" and not any(
        admin.id != operator.id and admin.password_hash is not None for admin in admins
    ):
        session.rollback()
        raise GatewayError(
            "last_admin",
            f"{operator.email} is the last administrator who can sign in. Make another operator "
            "an administrator first.",
            409,
        )
    operator.role = role
    record_change(
        session,
        actor,
        "operator.role_changed",
        f"operator:{operator.id}",
        before={"role": before},
        after={"role": role},
    )
    session.commit()
    return operator


def issue_password_link_for(
    session: Session, operator_id: int, actor: str
) -> tuple[Operator, PasswordLink]:
    """A new set-password link for the operator with this id (the previous link stops; the
    password stays until the link is used; commits)."""
    operator = get_operator(session, operator_id)
    had_link = operator.password_token_hash is not None
    link = _new_link(operator, utcnow())
    record_change(
        session,
        actor,
        "operator.password_link_issued",
        f"operator:{operator.id}",
        before={"pending_link": had_link},
        after={"pending_link": True, "link_expires_at": link.expires_at},
    )
    session.commit()
    return operator, link


def reset_second_factor(session: Session, operator_id: int, actor: str) -> Operator:
    """Turn off another operator's two-step sign-in (a lost phone; commits). Operators turn off
    their own with a current code instead (409 `own_second_factor`). Already off: no change."""
    operator = get_operator(session, operator_id)
    if actor == f"operator:{operator.id}":
        raise GatewayError(
            "own_second_factor",
            "To turn off your own two-step sign-in, use your account page and enter a current "
            "code.",
            409,
        )
    if operator.totp_secret is None and operator.totp_pending_secret is None:
        return operator
    before = operator.totp_secret is not None
    operator.totp_secret = None
    operator.totp_pending_secret = None
    record_change(
        session,
        actor,
        "operator.second_factor_reset",
        f"operator:{operator.id}",
        before={"second_factor": before},
        after={"second_factor": False},
    )
    session.commit()
    return operator
