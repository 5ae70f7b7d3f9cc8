"""An operator's correction of a member's points: signed, with a reason, exactly once.

Each adjustment carries a request id (the console form's hidden field, the admin API's
Idempotency-Key, the CLI's --request-id). Its ledger row's reference `adjustment:<request id>` is
unique among adjustments (index uq_ledger_adjustment_reference), so a retry, even a concurrent
one, cannot add a second row: it answers the first result.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gateway.domain.errors import GatewayError
from gateway.models.base import utcnow
from gateway.models.card import Card
from gateway.models.ledger import LedgerEntry
from gateway.models.member import Account, Member
from gateway.pos import cardholder
from gateway.pos.ledger import (
    Balance,
    Movement,
    Origin,
    change_documents,
    lock_account,
    move_points,
)
from gateway.services.issue.card_admin import member_closed
from gateway.services.keep_live.outbox import add_event
from gateway.services.operate.audit_trail import record_change
from gateway.services.operate.field_errors import Collector

MAX_REASON = 200
# One adjustment moves at most this many points either way: a typo guard, not a policy.
MAX_POINTS = 1_000_000
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{8,80}$")


@dataclass(frozen=True, slots=True)
class Adjustment:
    """The result of an adjustment; `repeated` when the request id had already been applied."""

    reference: str
    card_number: str
    points: int
    balance: int
    held: int
    reason: str
    repeated: bool

    def as_json(self) -> dict[str, Any]:
        """The admin API form."""
        return {
            "reference": self.reference,
            "card_number": self.card_number,
            "points": self.points,
            "reason": self.reason,
            "balance": {"points": self.balance, "held": self.held},
            "repeated": self.repeated,
        }


def new_request_id() -> str:
    """A random request id (the console form and the CLI make one per adjustment)."""
    return "adj_" + secrets.token_hex(12)


def valid_request_id(value: object) -> bool:
    """Whether `value` can name an adjustment: 8 to 80 of A-Z a-z 0-9 . _ : -."""
    return isinstance(value, str) and _REQUEST_ID.match(value) is not None


def parse_points(value: object) -> int | None:
    """An integer from a form or JSON value (None when it is not one)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"[+-]?[0-9]{1,12}", value.strip()):
        return int(value.strip())
    return None


def check_adjustment(points: object, reason: object, request_id: object) -> tuple[int, str, str]:
    """(points, reason, request id), or 422 `validation_error` naming every bad field."""
    errors = Collector()
    amount = parse_points(points)
    if amount is None:
        errors.add("points", "Enter a whole number of points, like 250 or -100.")
    elif amount == 0:
        errors.add("points", "Enter a number of points other than 0.")
    elif abs(amount) > MAX_POINTS:
        errors.add("points", f"One adjustment can move at most {MAX_POINTS:,} points.")
    text = reason.strip() if isinstance(reason, str) else ""
    if not text:
        errors.add("reason", "Say why the points change (the member may ask).")
    elif len(text) > MAX_REASON or not text.isprintable():
        errors.add("reason", f"Write the reason as plain text of at most {MAX_REASON} characters.")
    if not valid_request_id(request_id):
        errors.add(
            "request_id",
            "The request id must be 8 to 80 letters, digits or . _ : - (reload the form).",
        )
    errors.raise_if_any()
    assert amount is not None and isinstance(request_id, str)
    return amount, text, request_id


def _request_reused() -> GatewayError:
    return GatewayError(
        "request_reused",
        "This request id was already used for a different adjustment. Reload the form (or send "
        "a new Idempotency-Key) to make another one.",
        409,
    )


def _repeat(
    session: Session, entry: LedgerEntry, card: Card, points: int, reason: str
) -> Adjustment:
    """The answer to a request id already applied (same card and amount), else 409."""
    account = session.get(Account, entry.account_id)
    if account is None or account.member_id != card.member_id or entry.points != points:
        session.rollback()
        raise _request_reused()
    session.refresh(account)
    result = Adjustment(
        str(entry.reference), card.number, entry.points, account.balance, account.held, reason, True
    )
    session.commit()
    return result


def _applied(session: Session, reference: str) -> LedgerEntry | None:
    return session.scalar(
        select(LedgerEntry).where(
            LedgerEntry.kind == "adjustment", LedgerEntry.reference == reference
        )
    )


def adjust_points(
    session: Session,
    card: Card,
    points: object,
    reason: object,
    request_id: object,
    actor: str,
) -> Adjustment:
    """Add (or take away) points on the card's account, once per request id. Commits.

    A credit is a new bucket that expires after the program's validity; a debit spends the
    oldest buckets first and may not exceed `balance - held` (409 `insufficient_points`, nothing
    changed). One ledger row, one audit row with the balance before and after, one
    `balance.changed` event (the passes and the CRM are updated). Lifetime points (tiers) are
    not changed: an adjustment is a correction, not spending.
    """
    amount, text, rid = check_adjustment(points, reason, request_id)
    reference = f"adjustment:{rid}"
    member = session.get(Member, card.member_id)
    if member is None:
        raise GatewayError("not_found", "the card has no member", 404)
    holder = cardholder.by_number(session, card.program_id, card.number)
    if holder is None:
        raise GatewayError("not_found", "the card has no points account", 404)
    # The account lock first: a concurrent retry waits here, then sees the first row below.
    lock_account(session, holder.account_id)
    first = _applied(session, reference)
    if first is not None:
        return _repeat(session, first, card, amount, text)
    if member.erased_at is not None:
        session.rollback()
        raise member_closed()
    now = utcnow()
    expires = now + timedelta(days=holder.validity_days) if amount > 0 else None
    origin = Origin(actor[:80], reference=reference)
    try:
        with session.begin_nested():
            balance = move_points(
                session, holder.account_id, [Movement("adjustment", amount, 0, expires)], origin
            )
    except IntegrityError:
        # Same request id, committed between our check and our insert (another account's row).
        first = _applied(session, reference)
        if first is None:
            session.rollback()
            raise
        return _repeat(session, first, card, amount, text)
    except GatewayError:
        session.rollback()
        raise
    _record(session, holder, balance, origin, amount, text, actor)
    session.commit()
    return Adjustment(reference, card.number, amount, balance.points, balance.held, text, False)


def _record(
    session: Session,
    holder: cardholder.Cardholder,
    balance: Balance,
    origin: Origin,
    amount: int,
    reason: str,
    actor: str,
) -> None:
    _, payload = change_documents(holder, balance, origin, reason="adjustment", points=amount)
    payload["comment"] = reason
    add_event(session, "balance.changed", payload)
    record_change(
        session,
        actor,
        "points.adjusted",
        f"card:{holder.card_number}",
        before={"balance": balance.points - amount, "held": balance.held},
        after={"balance": balance.points, "held": balance.held},
        points=amount,
        reason=reason,
        reference=origin.reference,
        account_id=holder.account_id,
    )
