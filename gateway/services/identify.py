"""POST /pos/v1/identify: scan -> card -> one-time code accepted once -> checkout."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gateway.domain.errors import GatewayError
from gateway.domain.points import TierRule, meets_min_tier
from gateway.models.base import utcnow
from gateway.models.card import Card, WalletPass
from gateway.models.pos import UsedCode
from gateway.models.program import Reward
from gateway.runtime import Runtime
from gateway.services.cardholder import Cardholder, cardholder_query, from_row, tier_rules
from gateway.services.checkout import iso, open_checkout, reopen_checkout
from gateway.services.holds import release_expired_holds_of
from gateway.services.idempotency import PosAnswer
from gateway.services.issuance import code_secret_purpose
from gateway.services.outbox import add_event
from gateway.services.pos_settings import PosSettings, pos_settings
from gateway.services.scan_lockout import record_failure
from gateway.services.terminals import TerminalContext
from passes.codes import MalformedScan, match_hotp, match_totp, parse_scan

REFRESH_HINT = "this code was already used: ask the customer to refresh the card"


@dataclass(frozen=True, slots=True)
class PassCode:
    """A pass of the card and what its code check needs."""

    pass_id: int
    wallet: str
    serial: str
    sealed_secret: bytes
    counter: int


@dataclass(frozen=True, slots=True)
class CodeMatch:
    """Which pass a code belongs to, at which step/counter, and whether it is fresh."""

    code: PassCode
    step: int
    fresh: bool


def _seconds_left(until: datetime, now: datetime) -> str:
    return str(max(int((until - now).total_seconds()) + 1, 1))


def identify(session: Session, rt: Runtime, terminal: TerminalContext, raw_scan: str) -> PosAnswer:
    """Identify the cardholder from a scan and open (or re-open) a checkout."""
    settings = pos_settings(rt)
    now = utcnow()
    if terminal.locked_until is not None and terminal.locked_until > now:
        raise GatewayError(
            "rate_limited",
            "too many rejected scans from this till; wait before scanning again",
            429,
            headers={"Retry-After": _seconds_left(terminal.locked_until, now)},
        )
    try:
        scan = parse_scan(raw_scan)
    except MalformedScan:
        raise GatewayError("malformed_scan", "the scan is not a loyalty card code", 400) from None
    rows = session.execute(
        cardholder_query(
            WalletPass.id,
            WalletPass.wallet,
            WalletPass.serial,
            WalletPass.code_secret,
            WalletPass.code_counter,
        )
        .join(WalletPass, WalletPass.card_id == Card.id)
        .where(Card.program_id == terminal.program_id, Card.number == scan.card_number)
    ).all()
    if not rows:
        record_failure(session, settings, terminal, None, now)
        raise GatewayError("unknown_card", "no such card in this program", 404)
    holder = from_row(rows[0])
    if holder.card_status == "revoked":
        raise GatewayError("card_revoked", "this card has been revoked", 410)
    if holder.locked_until is not None and holder.locked_until > now:
        raise _card_locked(holder.locked_until, now)
    codes = [PassCode(*tuple(row)[-5:]) for row in rows]
    match = _match(rt, settings, holder, codes, scan.code, now)
    if match is None:
        locked_until = record_failure(session, settings, terminal, holder, now)
        if locked_until is not None:
            raise _card_locked(locked_until, now)
        raise GatewayError("code_rejected", "the code on the card is not valid", 422)
    if match.fresh:
        accepted = _accept(session, rt, settings, terminal, holder, match, now)
        if accepted is not None:
            return accepted
    return _rescan(session, rt, terminal, holder, match, now)


def _card_locked(until: datetime, now: datetime) -> GatewayError:
    return GatewayError(
        "card_locked",
        "this card is locked after too many wrong codes; try again later",
        423,
        headers={"Retry-After": _seconds_left(until, now)},
    )


def _match(
    rt: Runtime,
    settings: PosSettings,
    holder: Cardholder,
    codes: list[PassCode],
    code: str,
    now: datetime,
) -> CodeMatch | None:
    """Apple: the code of the current counter (fresh) or of the one just used (replay);
    Google: a TOTP step inside the window (replays are caught by the unique key)."""
    if len(code) != holder.totp_digits:
        return None
    for candidate in codes:
        secret = rt.secret_box.open(candidate.sealed_secret, code_secret_purpose(candidate.serial))
        if candidate.wallet == "apple":
            if match_hotp(secret, code, candidate.counter, digits=holder.totp_digits):
                return CodeMatch(candidate, candidate.counter, True)
            previous = candidate.counter - 1
            if previous >= 0 and match_hotp(secret, code, previous, digits=holder.totp_digits):
                return CodeMatch(candidate, previous, False)
        else:
            step = match_totp(
                secret,
                code,
                int(now.timestamp()),
                period=holder.totp_period,
                digits=holder.totp_digits,
                backward_steps=settings.totp_backward_steps,
                forward_steps=settings.totp_forward_steps,
            )
            if step is not None:
                return CodeMatch(candidate, step, True)
    return None


def _accept(
    session: Session,
    rt: Runtime,
    settings: PosSettings,
    terminal: TerminalContext,
    holder: Cardholder,
    match: CodeMatch,
    now: datetime,
) -> PosAnswer | None:
    """Record the code as used and open a checkout; None if another request used it first."""
    try:
        session.execute(
            insert(UsedCode).values(
                pass_id=match.code.pass_id, step=match.step, terminal_id=terminal.terminal_id
            )
        )
    except IntegrityError:
        session.rollback()
        return None
    expires_at = now + settings.checkout_ttl
    token = open_checkout(
        session, rt.secret_box, terminal, holder.card_id, match.code.pass_id, match.step, expires_at
    )
    if match.code.wallet == "apple":
        session.execute(
            update(WalletPass)
            .where(WalletPass.id == match.code.pass_id, WalletPass.code_counter == match.step)
            .values(
                code_counter=match.step + 1,
                code_issued_at=now,
                update_tag=WalletPass.update_tag + 1,
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        add_event(
            session,
            "pass.changed",
            {"pass_id": match.code.pass_id, "serial": match.code.serial, "reason": "code_used"},
        )
    holder, _ = release_expired_holds_of(session, holder, now)
    return _answer(session, holder, match.code.wallet, token, expires_at)


def _rescan(
    session: Session,
    rt: Runtime,
    terminal: TerminalContext,
    holder: Cardholder,
    match: CodeMatch,
    now: datetime,
) -> PosAnswer:
    """The same code again: its open checkout at this terminal, or code_already_used."""
    reopened = reopen_checkout(
        session, rt.secret_box, terminal, match.code.pass_id, match.step, now
    )
    if reopened is None:
        hint = REFRESH_HINT if match.code.wallet == "apple" else "this code was already used"
        raise GatewayError("code_already_used", hint, 409)
    token, expires_at = reopened
    holder, _ = release_expired_holds_of(session, holder, now)
    return _answer(session, holder, match.code.wallet, token, expires_at)


def _number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def _answer(
    session: Session, holder: Cardholder, wallet: str, token: str, expires_at: datetime
) -> PosAnswer:
    rewards = session.execute(
        select(Reward.code, Reward.name, Reward.cost_points, Reward.enabled, Reward.stock,
               Reward.min_tier)
        .where(Reward.program_id == holder.program_id)
        .order_by(Reward.cost_points, Reward.id)
    ).all()
    tiers: list[TierRule] = []
    if any(reward.min_tier for reward in rewards):
        tiers = tier_rules(session, holder.program_id)
    spendable = holder.balance - holder.held
    listed: list[dict[str, Any]] = [
        {
            "id": reward.code,
            "name": reward.name,
            "cost_points": reward.cost_points,
            "available": bool(
                holder.redemptions_enabled
                and reward.enabled
                and (reward.stock is None or reward.stock > 0)
                and reward.cost_points <= spendable
                and meets_min_tier(holder.tier, reward.min_tier, tiers)
            ),
        }
        for reward in rewards
    ]
    return PosAnswer(
        200,
        {
            "checkout": {"token": token, "expires_at": iso(expires_at)},
            "card": {"number": holder.card_number, "wallet": wallet, "status": holder.card_status},
            "member": {
                "display_name": holder.display_name,
                "tier": holder.tier,
                "discount_percent": _number(holder.discount_percent),
            },
            "balance": {"points": holder.balance, "held": holder.held},
            "rewards": listed,
        },
    )
