"""POST /pos/v1/identify: scan -> card -> one-time code accepted once -> checkout.

The hot path is two statements on PostgreSQL, both autocommitted on a pooled connection taken
without a Session: one indexed SELECT returning one row, the terminal (by key hash), the card
with its member, account, program, tier and both passes, and the program's rewards and tiers
(read fresh, so kill switches act at once); then,
once the code is verified in Python, one statement that records the code as used (the unique
key decides races) and, for Apple, advances the counter and writes the outbox event, all or
nothing. The checkout is a signed token, so opening it writes nothing. SQLite runs the same
steps as separate statements in one transaction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy import String, and_, bindparam, insert, literal_column, select, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, aliased

from gateway.domain.errors import GatewayError
from gateway.domain.points import TierRule, meets_min_tier
from gateway.models.base import utcnow
from gateway.models.card import Card, WalletPass
from gateway.models.member import Account, Member
from gateway.models.outbox import OutboxEvent
from gateway.models.pos import Store, UsedCode
from gateway.models.program import Program, Tier
from gateway.runtime import Runtime
from gateway.services import hot_sql
from gateway.services.cardholder import (
    COLUMNS,
    WIDTH,
    Cardholder,
    RewardRow,
    parse_rewards,
    parse_tiers,
    rewards_json,
    tiers_json,
)
from gateway.services.checkout import (
    CheckoutClaim,
    checkout_expiry,
    checkout_signer,
    iso,
    reopen_checkout,
)
from gateway.services.holds import release_expired_holds_of
from gateway.services.idempotency import PosAnswer
from gateway.services.issuance import code_secret_purpose
from gateway.services.ledger import new_event_id
from gateway.services.pos_settings import PosSettings, pos_settings
from gateway.services.scan_lockout import record_failure
from gateway.services.terminals import (
    TERMINAL_COLUMNS,
    TERMINAL_WIDTH,
    TerminalContext,
    live_terminals,
    terminal_from_row,
    unauthorized,
)
from passes.codes import MalformedScan, ScanV1, match_hotp, match_totp, parse_scan

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


@dataclass(frozen=True, slots=True)
class Catalogue:
    """The program's rewards and tiers as read with the card."""

    rewards: list[RewardRow]
    tiers: list[TierRule]


def _seconds_left(until: datetime, now: datetime) -> str:
    return str(max(int((until - now).total_seconds()) + 1, 1))


# --- statements, built once per dialect -------------------------------------------------------

_STATEMENTS: dict[str, Any] = {}
PASS_WIDTH = 5  # id, wallet, serial, sealed secret, counter
_CARD_END = TERMINAL_WIDTH + WIDTH
_PASSES_END = _CARD_END + 2 * PASS_WIDTH


# Constants in the SQL text, not parameters: the statement is rendered once for PostgreSQL.
_APPLE: Any = literal_column("'apple'")
_GOOGLE: Any = literal_column("'google'")


def _pass_join(wallet: str) -> tuple[Any, Any]:
    """The card's pass of one wallet (unique per card and wallet), outer-joined by alias."""
    alias = aliased(WalletPass, name=f"{wallet}_pass")
    columns = (alias.id, alias.wallet, alias.serial, alias.code_secret, alias.code_counter)
    return alias, columns


def _read_statement(dialect: str) -> Any:
    """Terminal by key hash; LEFT JOIN the card (+ member, account, program, tier) and its two
    passes, one row in all, so the catalogue subqueries run once."""
    cached = _STATEMENTS.get(f"read:{dialect}")
    if cached is not None:
        return cached
    terminals, live = live_terminals(bindparam("key_hash", type_=String()))
    apple, apple_columns = _pass_join("apple")
    google, google_columns = _pass_join("google")
    card = (
        Card.__table__.join(Member.__table__, Member.id == Card.member_id)
        .join(Account.__table__, Account.member_id == Member.id)
        .join(Program.__table__, Program.id == Card.program_id)
        .outerjoin(Tier.__table__, and_(Tier.program_id == Program.id, Tier.name == Member.tier))
    )
    statement = (
        select(
            *TERMINAL_COLUMNS,
            *COLUMNS,
            *apple_columns,
            *google_columns,
            rewards_json(dialect, Card.program_id),
            tiers_json(dialect, Card.program_id),
        )
        .select_from(
            terminals.outerjoin(
                card,
                and_(
                    Card.program_id == Store.program_id,
                    Card.number == bindparam("number", type_=String()),
                ),
            )
            .outerjoin(apple, and_(apple.card_id == Card.id, apple.wallet == _APPLE))
            .outerjoin(google, and_(google.card_id == Card.id, google.wallet == _GOOGLE))
        )
        .where(live)
    )
    _STATEMENTS[f"read:{dialect}"] = statement
    return statement


# One round trip on PostgreSQL: the code is recorded once (ON CONFLICT DO NOTHING), and the
# Apple writes hang off that row, so a lost race writes nothing at all. The checkout itself is
# a signed token (services.checkout): nothing to store.
_ACCEPT_PG = """
WITH used AS (
    INSERT INTO used_codes (pass_id, step, terminal_id, used_at)
    VALUES (:pass_id, :step, :terminal_id, :now)
    ON CONFLICT (pass_id, step) DO NOTHING
    RETURNING id
){apple}
SELECT count(*) FROM used
"""
_ACCEPT_PG_APPLE = """, advanced AS (
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


def _accept_pg(apple: bool) -> str:
    key = f"accept:pg:{apple}"
    cached = _STATEMENTS.get(key)
    if cached is None:
        cached = hot_sql.named(_ACCEPT_PG.format(apple=_ACCEPT_PG_APPLE if apple else ""))
        _STATEMENTS[key] = cached
    return cached


# --- the use case -----------------------------------------------------------------------------


def identify(session: Session, rt: Runtime, key_hash: str, raw_scan: str) -> PosAnswer:
    """Identify the cardholder from a scan and open (or re-open) a checkout."""
    try:
        scan: ScanV1 | None = parse_scan(raw_scan)
    except MalformedScan:
        scan = None
    params = {"key_hash": key_hash, "number": scan.card_number if scan is not None else ""}
    statement = _read_statement(rt.engine.dialect.name)
    if rt.engine.dialect.name != "postgresql":
        conn = session.connection()
        row = conn.execute(statement, params).first()
        return _identify(session, rt, _SqlAlchemyWriter(conn), scan, row)
    # PostgreSQL: a pooled connection of its own in autocommit, without the Session's
    # per-request work; the rare paths (failures, re-scans, expired holds) use the session.
    with hot_sql.pooled(rt.engine, autocommit=True) as raw:
        rows = hot_sql.fetch_raw(raw, hot_sql.render(statement), params)
        return _identify(session, rt, _PgWriter(raw), scan, rows[0] if rows else None)


def _identify(
    session: Session, rt: Runtime, writer: _Writer, scan: ScanV1 | None, first: Any
) -> PosAnswer:
    """The checks and the code match on the read's row; `writer` records an accepted code."""
    settings = pos_settings(rt)
    now = utcnow()
    if first is None:
        raise unauthorized()
    terminal = terminal_from_row(first)
    if terminal.locked_until is not None and terminal.locked_until > now:
        raise GatewayError(
            "rate_limited",
            "too many rejected scans from this till; wait before scanning again",
            429,
            headers={"Retry-After": _seconds_left(terminal.locked_until, now)},
        )
    if scan is None:
        raise GatewayError("malformed_scan", "the scan is not a loyalty card code", 400)
    codes = [
        PassCode(*first[start : start + PASS_WIDTH])
        for start in (_CARD_END, _CARD_END + PASS_WIDTH)
        if first[start] is not None
    ]
    if first[TERMINAL_WIDTH] is None or not codes:
        record_failure(session, settings, terminal, None, now)
        raise GatewayError("unknown_card", "no such card in this program", 404)
    holder = Cardholder(*first[TERMINAL_WIDTH:_CARD_END])
    if holder.card_status == "revoked":
        raise GatewayError("card_revoked", "this card has been revoked", 410)
    if holder.locked_until is not None and holder.locked_until > now:
        raise _card_locked(holder.locked_until, now)
    catalogue = Catalogue(parse_rewards(first[_PASSES_END]), parse_tiers(first[_PASSES_END + 1]))
    match = _match(rt, settings, holder, codes, scan.code, now)
    if match is None:
        locked_until = record_failure(session, settings, terminal, holder, now)
        if locked_until is not None:
            raise _card_locked(locked_until, now)
        raise GatewayError("code_rejected", "the code on the card is not valid", 422)
    if match.fresh:
        expires_at = checkout_expiry(now, settings.checkout_ttl)
        token = _accept(writer, rt, terminal, holder, match, now, expires_at)
        if token is not None:
            holder = _release_expired_holds(session, holder, now)
            return _answer(holder, catalogue, match.code.wallet, token, expires_at)
    return _rescan(session, rt, terminal, holder, catalogue, match, now)


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


class _Writer(Protocol):
    """Records an accepted code (and what hangs off it) on the read's connection."""

    def accept(self, params: dict[str, Any], apple: bool, event: dict[str, Any]) -> bool:
        """Record the code, open the checkout (Apple: advance, outbox); False if taken."""
        ...


class _PgWriter:
    """PostgreSQL: one autocommitted statement; a lost race writes nothing."""

    def __init__(self, raw: Any) -> None:
        self._raw = raw

    def accept(self, params: dict[str, Any], apple: bool, event: dict[str, Any]) -> bool:
        if apple:
            params["event_id"] = new_event_id()
            params["payload"] = json.dumps(event)
        return bool(hot_sql.fetch_raw(self._raw, _accept_pg(apple), params)[0][0])


class _SqlAlchemyWriter:
    """SQLite: the same writes as separate statements in the session's transaction."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def accept(self, params: dict[str, Any], apple: bool, event: dict[str, Any]) -> bool:
        conn = self._conn
        recorded = conn.execute(
            sqlite_insert(UsedCode)
            .values(
                pass_id=params["pass_id"],
                step=params["step"],
                terminal_id=params["terminal_id"],
                used_at=params["now"],
            )
            .on_conflict_do_nothing(index_elements=["pass_id", "step"])
            .returning(UsedCode.id)
        ).first()
        if recorded is None:
            return False
        if apple:
            conn.execute(
                update(WalletPass)
                .where(
                    WalletPass.id == params["pass_id"], WalletPass.code_counter == params["step"]
                )
                .values(
                    code_counter=params["step"] + 1,
                    code_issued_at=params["now"],
                    update_tag=WalletPass.update_tag + 1,
                    updated_at=params["now"],
                )
            )
            conn.execute(
                insert(OutboxEvent).values(
                    event_id=new_event_id(),
                    kind="pass.changed",
                    payload=event,
                    created_at=params["now"],
                    attempts=0,
                    next_attempt_at=params["now"],
                )
            )
        return True


def _accept(
    writer: _Writer,
    rt: Runtime,
    terminal: TerminalContext,
    holder: Cardholder,
    match: CodeMatch,
    now: datetime,
    expires_at: datetime,
) -> str | None:
    """Record the code as used and open a checkout; None if another request used it first."""
    event = {"pass_id": match.code.pass_id, "serial": match.code.serial, "reason": "code_used"}
    params: dict[str, Any] = {
        "pass_id": match.code.pass_id,
        "step": match.step,
        "terminal_id": terminal.terminal_id,
        "now": now,
    }
    if not writer.accept(params, match.code.wallet == "apple", event):
        return None
    claim = CheckoutClaim(
        terminal.terminal_id, holder.card_id, match.code.pass_id, match.step, expires_at
    )
    return checkout_signer(rt).issue(claim)


def _release_expired_holds(session: Session, holder: Cardholder, now: datetime) -> Cardholder:
    """Holds past their TTL go back first (only an account with held points can have any)."""
    if holder.held == 0:
        return holder
    holder, _ = release_expired_holds_of(session, holder, now)
    return holder


def _rescan(
    session: Session,
    rt: Runtime,
    terminal: TerminalContext,
    holder: Cardholder,
    catalogue: Catalogue,
    match: CodeMatch,
    now: datetime,
) -> PosAnswer:
    """The same code again: its open checkout at this terminal, or code_already_used."""
    reopened = reopen_checkout(
        session,
        checkout_signer(rt),
        terminal,
        holder.card_id,
        match.code.pass_id,
        match.step,
        pos_settings(rt).checkout_ttl,
        now,
    )
    if reopened is None:
        hint = REFRESH_HINT if match.code.wallet == "apple" else "this code was already used"
        raise GatewayError("code_already_used", hint, 409)
    token, expires_at = reopened
    holder = _release_expired_holds(session, holder, now)
    return _answer(holder, catalogue, match.code.wallet, token, expires_at)


def _number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def _answer(
    holder: Cardholder, catalogue: Catalogue, wallet: str, token: str, expires_at: datetime
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
                and reward.cost_points <= spendable
                and meets_min_tier(holder.tier, reward.min_tier, catalogue.tiers)
            ),
        }
        for reward in catalogue.rewards
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
