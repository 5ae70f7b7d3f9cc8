"""POST /pos/v1/identify: scan -> card -> one-time code accepted once -> checkout.

The hot path is two statements through the POS store: one indexed SELECT returning one row
(the terminal by key hash, the card with its member, account, program, tier and both passes,
and the program's rewards and tiers, read fresh so kill switches act at once); then, once the
code is verified in Python, one write that records the code as used (the unique key decides
races) and, for Apple, advances the counter and writes the outbox event, all or nothing. The
checkout is a signed token, so opening it writes nothing. A rejected scan is counted in a unit
of work of its own, after this call's transaction has ended, under row locks so that the card
and till limits hold under concurrency; a code of the wrong length for the program is
malformed_scan and not counted.

Only on that failure path, the code is also checked against the card's retired secrets (an old
copy of a replaced card): a match answers card_revoked with a hint for the cashier and counts
toward the till's limit but not the card's lock (see scan_lockout).

A replayed code, a scan of a locked card and a malformed scan (from a known till) count toward
no lock; on those failure paths only, once the call's transaction has ended, one scan_refusals
row is written for the reports (a failure to write it leaves the answer as it is).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.domain.errors import GatewayError
from gateway.domain.points import meets_min_tier
from gateway.models.base import utcnow
from gateway.models.retired_secret import RetiredCodeSecret
from gateway.pos import errors
from gateway.pos.cardholder import Cardholder
from gateway.pos.checkout import CheckoutClaim, checkout_expiry, iso, reopen_checkout
from gateway.pos.holds import release_expired_holds_of
from gateway.pos.idempotency import IdempotentCall, PosAnswer, StoredAnswer, encode, run_keyed
from gateway.pos.reads import PassCode, ScanRead
from gateway.pos.scan_lockout import (
    CARD_LOCKED,
    MALFORMED,
    REPLAYED,
    record_failure,
    record_refusal,
)
from gateway.pos.settings import PosSettings
from gateway.pos.store import CodeAcceptance, ScanUnit
from gateway.pos.terminals import TerminalContext
from gateway.runtime import Runtime
from gateway.secret_box import SecretBoxError
from gateway.services.issue.card_credentials import retired_secret_purpose
from gateway.services.issue.issuance import code_secret_purpose
from passes.codes import MalformedScan, ScanV1, match_hotp, match_totp, parse_scan


@dataclass(frozen=True, slots=True)
class CodeMatch:
    """Which pass a code belongs to, at which step/counter, and whether it is fresh."""

    code: PassCode
    step: int
    fresh: bool


class _ScanRejected(Exception):
    """A wrong code or unknown card: counted toward the locks once the call's transaction ends."""

    def __init__(
        self, terminal: TerminalContext, holder: Cardholder | None, code: str = ""
    ) -> None:
        super().__init__("scan rejected")
        self.terminal = terminal
        self.holder = holder
        self.code = code


class _Refused(Exception):
    """A refusal that counts toward no lock: answered as `answer`, recorded for the reports
    once the call's transaction ends."""

    def __init__(
        self, answer: GatewayError, terminal: TerminalContext, card_id: int | None, reason: str
    ) -> None:
        super().__init__(answer.code)
        self.answer = answer
        self.terminal = terminal
        self.card_id = card_id
        self.reason = reason


# Retired secrets checked per failed scan (newest first): enough for several replacements in the
# retention period, and a bound on the work a wrong code can cause.
RETIRED_SECRETS_CHECKED = 16
# Apple: counters of a retired secret tried around the one its pass showed when retired (the
# copy may still show the previous code if it had not picked up the last update).
_HOTP_BEHIND, _HOTP_AHEAD = 1, 2


def old_copy() -> GatewayError:
    """410 `card_revoked`: the code belongs to a pass the card no longer uses."""
    return GatewayError(
        "card_revoked",
        "this is an old copy of the card: ask the customer to open the new pass",
        410,
    )


def identify(
    rt: Runtime,
    key_hash: str,
    raw_scan: str,
    keyed: tuple[IdempotentCall, int] | None = None,
) -> StoredAnswer:
    """Identify the cardholder from a scan and open (or re-open) a checkout; with a key (and
    the till's id), the first answer is replayed."""
    try:
        scan: ScanV1 | None = parse_scan(raw_scan)
    except MalformedScan:
        scan = None
    now = utcnow()
    try:
        with rt.sessions() as session:

            def work() -> PosAnswer:
                return _identify(session, rt, key_hash, scan, now)

            if keyed is not None:
                call, terminal_id = keyed
                return run_keyed(session, rt.pos_store, call, terminal_id, work)
            answer = work()
            session.commit()
            return StoredAnswer(answer.status, encode(answer))
    except _Refused as refused:
        record_refusal(rt, refused.terminal, refused.card_id, refused.reason, now)
        raise refused.answer from None
    except _ScanRejected as rejected:
        holder = rejected.holder
        stale = holder is not None and _matches_retired(rt, holder, rejected.code, now)
        # Only a failure counted under the limits is answered as such (see scan_lockout).
        refusal = record_failure(rt, rejected.terminal, holder, now, old_copy=stale)
        if refusal is not None:
            raise refusal from None
        if holder is None:
            raise errors.unknown_card() from None
        if stale:
            raise old_copy() from None
        raise errors.code_rejected() from None


def _identify(
    session: Session, rt: Runtime, key_hash: str, scan: ScanV1 | None, now: datetime
) -> PosAnswer:
    """The checks and the code match on the read's records; the unit records an accepted code."""
    settings = rt.pos_settings
    number = scan.card_number if scan is not None else ""
    with rt.pos_store.scanning(session) as unit:
        read = unit.read(key_hash, number)
        if read is None:
            raise errors.unauthorized()
        terminal = read.terminal
        if terminal.locked_until is not None and terminal.locked_until > now:
            raise errors.terminal_rate_limited(terminal.locked_until, now)
        if scan is None:
            raise _Refused(errors.malformed_scan(), terminal, None, MALFORMED)
        holder = read.holder
        if holder is None or not read.codes:
            raise _ScanRejected(terminal, None)
        if len(scan.code) != holder.totp_digits:
            # Not a guess at this card's code: no failure counted (the digits come with the read).
            answer = errors.malformed_scan(f"the code must have {holder.totp_digits} digits")
            raise _Refused(answer, terminal, holder.card_id, MALFORMED)
        if holder.card_status == "revoked":
            raise errors.card_revoked()
        if holder.locked_until is not None and holder.locked_until > now:
            answer = errors.card_locked(holder.locked_until, now)
            raise _Refused(answer, terminal, holder.card_id, CARD_LOCKED)
        match = _match(rt, settings, holder, read.codes, scan.code, now)
        if match is None:
            raise _ScanRejected(terminal, holder, scan.code)
        if match.fresh:
            token = _accept(unit, rt, terminal, holder, match, now)
            if token is not None:
                holder, _ = release_expired_holds_of(session, holder, now)
                return _answer(holder, read, match.code.wallet, *token)
    return _rescan(session, rt, terminal, holder, read, match, now)


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


def _matches_retired(rt: Runtime, holder: Cardholder, code: str, now: datetime) -> bool:
    """Whether `code` is a code of one of the card's retired secrets still kept (failure path
    only: a separate read after the scan's own transaction ended)."""
    kept_since = now - timedelta(days=rt.settings.retired_code_secret_days)
    with rt.sessions() as session:
        retired = session.scalars(
            select(RetiredCodeSecret)
            .where(
                RetiredCodeSecret.card_id == holder.card_id,
                RetiredCodeSecret.retired_at >= kept_since,
            )
            .order_by(RetiredCodeSecret.retired_at.desc(), RetiredCodeSecret.id.desc())
            .limit(RETIRED_SECRETS_CHECKED)
        ).all()
    settings = rt.pos_settings
    found = False
    # Every candidate is checked (no early exit), each compare in constant time.
    for row in retired:
        if len(code) != row.totp_digits:
            continue
        try:
            secret = rt.secret_box.open(row.sealed_secret, retired_secret_purpose(row.serial))
        except SecretBoxError:
            continue  # sealed by a key no longer in the ring: it cannot be recognised
        if row.wallet == "apple":
            first = max(row.counter - _HOTP_BEHIND, 0)
            for counter in range(first, row.counter + _HOTP_AHEAD + 1):
                found |= match_hotp(secret, code, counter, digits=row.totp_digits)
        else:
            step = match_totp(
                secret,
                code,
                int(now.timestamp()),
                period=row.totp_period,
                digits=row.totp_digits,
                backward_steps=settings.totp_backward_steps,
                forward_steps=settings.totp_forward_steps,
            )
            found |= step is not None
    return found


def _accept(
    unit: ScanUnit,
    rt: Runtime,
    terminal: TerminalContext,
    holder: Cardholder,
    match: CodeMatch,
    now: datetime,
) -> tuple[str, datetime] | None:
    """Record the code as used and open a checkout; None if another request used it first."""
    code, step, terminal_id = match.code, match.step, terminal.terminal_id
    acceptance = CodeAcceptance(code.pass_id, code.serial, code.wallet, step, terminal_id, now)
    if not unit.accept(acceptance):
        return None
    expires_at = checkout_expiry(now, rt.pos_settings.checkout_ttl)
    claim = CheckoutClaim(terminal_id, holder.card_id, code.pass_id, step, expires_at)
    return rt.checkout_signer.issue(claim), expires_at


def _rescan(
    session: Session,
    rt: Runtime,
    terminal: TerminalContext,
    holder: Cardholder,
    read: ScanRead,
    match: CodeMatch,
    now: datetime,
) -> PosAnswer:
    """The same code again: its open checkout at this terminal, or code_already_used."""
    reopened = reopen_checkout(
        session,
        rt.checkout_signer,
        terminal,
        holder.card_id,
        match.code.pass_id,
        match.step,
        rt.pos_settings.checkout_ttl,
        now,
    )
    if reopened is None:
        answer = errors.code_already_used(match.code.wallet)
        raise _Refused(answer, terminal, holder.card_id, REPLAYED)
    holder, _ = release_expired_holds_of(session, holder, now)
    return _answer(holder, read, match.code.wallet, *reopened)


def _number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def _answer(
    holder: Cardholder, read: ScanRead, wallet: str, token: str, expires_at: datetime
) -> PosAnswer:
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
                and reward.within_budget
                and reward.cost_points <= spendable
                and meets_min_tier(holder.tier, reward.min_tier, read.tiers)
            ),
        }
        for reward in read.rewards
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
