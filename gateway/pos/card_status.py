"""GET /pos/v1/cards/<number>: status, tier and balance of a card, without a code.

A bare number must not become an oracle over the card base, so every lookup runs under the
till's row lock: a locked till is refused (rate_limited), at most CARD_LOOKUPS_PER_MINUTE lookups
per till are answered (counted in the database, so across every worker), each one is audited,
an unknown number counts toward the till's scan-failure lock like a failed scan, and a program
may require an open checkout of this till for the card instead of a bare number.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from gateway.domain.errors import GatewayError
from gateway.models.base import utcnow
from gateway.models.card_lookup import CardLookup
from gateway.models.pos import Store, Terminal
from gateway.models.program import Program
from gateway.pos import errors
from gateway.pos.cardholder import by_number
from gateway.pos.checkout import CheckoutClaim, is_open, iso
from gateway.pos.holds import release_expired_holds_of
from gateway.pos.idempotency import PosAnswer, StoredAnswer, encode
from gateway.pos.scan_lockout import count_failure
from gateway.pos.terminals import TerminalContext
from gateway.runtime import Runtime
from gateway.services.keep_live.outbox import audit
from passes.codes import is_valid_card_number

LOOKUP_WINDOW = timedelta(minutes=1)


class _Counted(Exception):
    """A lookup that was counted and audited but fails: its rows are committed, then it raises."""

    def __init__(self, error: GatewayError) -> None:
        super().__init__(error.code)
        self.error = error


def read_card(
    rt: Runtime, terminal: TerminalContext, number: str, checkout: str | None = None
) -> StoredAnswer:
    """The card's status in a unit of work of its own (expired holds are released first)."""
    if not is_valid_card_number(number):
        raise errors.malformed_scan("not a valid card number")
    now = utcnow()
    with rt.sessions() as session:
        try:
            answer = _lookup(session, rt, terminal, number, checkout, now)
        except _Counted as counted:
            session.commit()
            raise counted.error from None
        session.commit()
    return StoredAnswer(answer.status, encode(answer))


def _lookup(
    session: Session,
    rt: Runtime,
    terminal: TerminalContext,
    number: str,
    checkout: str | None,
    now: datetime,
) -> PosAnswer:
    # The till's row lock serializes its lookups and failures (scan_lockout takes it the same
    # way); a GatewayError raised before the lookup row is written leaves nothing behind.
    terminal_until, requires_checkout = session.execute(
        select(Terminal.locked_until, Program.card_lookup_requires_checkout)
        .join(Store, Store.id == Terminal.store_id)
        .join(Program, Program.id == Store.program_id)
        .where(Terminal.id == terminal.terminal_id)
        .with_for_update(of=Terminal, key_share=True)
    ).one()
    if terminal_until is not None and terminal_until > now:
        raise errors.terminal_rate_limited(terminal_until, now)
    _count_lookup(session, rt.pos_settings.card_lookups_per_minute, terminal, now)
    claim: CheckoutClaim | None = None
    if requires_checkout:
        claim = rt.checkout_signer.read(checkout) if checkout else None
        if not is_open(claim, terminal.terminal_id, now):
            raise _refused(session, terminal, number, errors.checkout_required())
    holder = by_number(session, terminal.program_id, number)
    if holder is None:
        settings = rt.pos_settings
        count_failure(session, settings, terminal, terminal_until, None, "unknown_card_lookup", now)
        raise _refused(session, terminal, number, errors.unknown_card())
    if claim is not None and claim.card_id != holder.card_id:
        raise _refused(session, terminal, number, errors.checkout_required())
    holder, _ = release_expired_holds_of(session, holder, now)
    _audit(session, terminal, number, "found")
    locked = holder.locked_until is not None and holder.locked_until > now
    card: dict[str, object] = {"number": holder.card_number, "status": holder.card_status}
    card["locked_until"] = iso(holder.locked_until) if locked and holder.locked_until else None
    return PosAnswer(
        200,
        {
            "card": card,
            "member": {"display_name": holder.display_name, "tier": holder.tier},
            "balance": {"points": holder.balance, "held": holder.held},
        },
    )


def _count_lookup(session: Session, limit: int, terminal: TerminalContext, now: datetime) -> None:
    """Record this lookup, or answer rate_limited when the till used up its minute."""
    since = now - LOOKUP_WINDOW
    session.execute(
        delete(CardLookup).where(
            CardLookup.terminal_id == terminal.terminal_id, CardLookup.at <= since
        )
    )
    count, oldest = session.execute(
        select(func.count(), func.min(CardLookup.at)).where(
            CardLookup.terminal_id == terminal.terminal_id
        )
    ).one()
    if count >= limit and oldest is not None:
        raise errors.lookups_rate_limited(
            math.ceil((oldest + LOOKUP_WINDOW - now).total_seconds())
        )
    session.execute(insert(CardLookup).values(terminal_id=terminal.terminal_id, at=now))


def _audit(session: Session, terminal: TerminalContext, number: str, result: str) -> None:
    """The audit row of one lookup: the till as actor, the card number as subject."""
    audit(session, terminal.actor, "card.looked_up", f"card:{number}", result=result)


def _refused(
    session: Session, terminal: TerminalContext, number: str, error: GatewayError
) -> _Counted:
    _audit(session, terminal, number, error.code)
    return _Counted(error)

