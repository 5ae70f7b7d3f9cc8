"""Daily facts of the large or purged tables, grouped in SQL by program, local day and store.

Each source is read by id range: the rollup chore adds ranges it has not added yet, and the
dashboard adds the rows written since (the "tail"), so every figure is exact at any moment.
A row with a store falls on the store's day, a row without one on the program's day.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, SQLColumnExpression, String, case, func, literal, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from gateway.models.card import Card, WalletPass
from gateway.models.google_callback import GoogleCallbackNonce
from gateway.models.ledger import LedgerEntry
from gateway.models.member import Account, Member
from gateway.models.pos import Accrual, Redemption, Refund, ScanFailure, Store, Terminal, UsedCode
from gateway.models.program import Program, Reward
from gateway.models.report import AppleRegistrationEvent
from gateway.models.scan_refusal import ScanRefusal
from gateway.services.reports.days import local_day, prepare, safe_zone

Key = tuple[int, str, int, str, str]  # program, day, store (0: none), metric, dim

Col = SQLColumnExpression[Any]
AnySelect = Select[*tuple[Any, ...]]


@dataclass(slots=True)
class Sums:
    """Count, points and money of one key."""

    count: int = 0
    points: int = 0
    amount: Decimal = Decimal(0)

    def add(self, count: int, points: int, amount: Decimal) -> None:
        """Add another group's figures."""
        self.count += int(count)
        self.points += int(points)
        self.amount += Decimal(amount)


Facts = dict[Key, Sums]


@dataclass(frozen=True, slots=True)
class Scope:
    """Which rows of a source: ids in (after, upto] (upto None: all), one program or all."""

    after: int
    upto: int | None = None
    program_id: int | None = None


def zone_names(session: Session) -> set[str]:
    """Every timezone name used by a program or a store."""
    names = set(session.scalars(select(Program.timezone).distinct()))
    return names | set(session.scalars(select(Store.timezone).distinct()))


def _in_scope(query: AnySelect, id_column: Col, program_column: Col, scope: Scope) -> AnySelect:
    """Only the rows of the scope: its id range, and its program when it has one."""
    query = query.where(id_column > scope.after)
    if scope.upto is not None:
        query = query.where(id_column <= scope.upto)
    if scope.program_id is not None:
        query = query.where(program_column == scope.program_id)
    return query


def _collect(session: Session, rows: AnySelect) -> Facts:
    """The facts of one query, grouped (see `_grouped`)."""
    facts: Facts = {}
    _grouped(session, rows, facts)
    return facts


def _grouped(session: Session, rows: AnySelect, facts: Facts) -> None:
    """Group row-wise facts (program_id, day, store, metric, dim, points, amount) by key.

    Grouped outside: PostgreSQL would not match a GROUP BY expression with bound parameters
    (the zone names) to the same expression in the select list."""
    inner = rows.subquery()
    key = (inner.c.program_id, inner.c.day, inner.c.store, inner.c.metric, inner.c.dim)
    query = select(*key, func.count(), func.sum(inner.c.points), func.sum(inner.c.amount)).group_by(
        *key
    )
    prepare(session)
    for program_id, day, store, metric, dim, count, points, amount in session.execute(query):
        fact = (int(program_id), str(day), int(store or 0), str(metric), str(dim or ""))
        facts.setdefault(fact, Sums()).add(count or 0, points or 0, amount or Decimal(0))


def _row(
    program_id: Col,
    day: Col,
    store: Col,
    metric: Col | str,
    dim: Col | str,
    points: Col | int,
    amount: Col | int,
) -> list[Col]:
    def col(value: object, name: str) -> Col:
        if isinstance(value, str):
            return literal(value, String).label(name)
        if isinstance(value, int):
            return literal(value).label(name)
        return value.label(name)  # type: ignore[attr-defined,no-any-return]

    return [
        col(program_id, "program_id"),
        col(day, "day"),
        col(func.coalesce(store, 0), "store"),
        col(metric, "metric"),
        col(dim, "dim"),
        col(points, "points"),
        col(amount, "amount"),
    ]


def ledger_facts(session: Session, scope: Scope, zones: set[str]) -> Facts:
    """Ledger rows by kind and sign (`ledger.<kind>`, dim + - 0), and captured redemptions by
    reward (`redemption.reward`, dim the reward code, '' for a plain discount)."""
    tz = safe_zone(func.coalesce(Store.timezone, Program.timezone), zones)
    day = local_day(session, LedgerEntry.created_at, tz)
    sign = case((LedgerEntry.points > 0, "+"), (LedgerEntry.points < 0, "-"), else_="0")
    metric = literal("ledger.", String) + LedgerEntry.kind

    def rows(*columns: Col) -> AnySelect:
        query: AnySelect = (
            select(*columns)
            .select_from(LedgerEntry)
            .join(Account, Account.id == LedgerEntry.account_id)
            .join(Member, Member.id == Account.member_id)
            .join(Program, Program.id == Member.program_id)
            .outerjoin(Store, Store.id == LedgerEntry.store_id)
        )
        query = _in_scope(query, LedgerEntry.id, Member.program_id, scope)
        return query

    facts: Facts = {}
    by_kind = rows(
        *_row(Member.program_id, day, LedgerEntry.store_id, metric, sign, LedgerEntry.points, 0)
    )
    _grouped(session, by_kind, facts)
    by_reward = (
        rows(
            *_row(
                Member.program_id,
                day,
                LedgerEntry.store_id,
                "redemption.reward",
                func.coalesce(Reward.code, ""),
                -LedgerEntry.points,
                0,
            )
        )
        .join(
            Redemption,
            LedgerEntry.reference == literal("redemption:", String) + Redemption.public_id,
        )
        .outerjoin(Reward, Reward.id == Redemption.reward_id)
        .where(LedgerEntry.kind == "redemption")
    )
    _grouped(session, by_reward, facts)
    return facts


def accrual_facts(session: Session, scope: Scope, zones: set[str]) -> Facts:
    """Accruals (`accrual`): count, points and the order totals."""
    day = local_day(session, Accrual.created_at, safe_zone(Store.timezone, zones))
    query: AnySelect = select(
        *_row(
            Store.program_id,
            day,
            Accrual.store_id,
            "accrual",
            "",
            Accrual.points,
            Accrual.order_total,
        )
    ).join(Store, Store.id == Accrual.store_id)
    query = _in_scope(query, Accrual.id, Store.program_id, scope)
    return _collect(session, query)


def refund_facts(session: Session, scope: Scope, zones: set[str]) -> Facts:
    """Refunds (`refund`: count, accrued points taken back, refunded money) and the points they
    gave back to the customer (`refund.returned`)."""
    day = local_day(session, Refund.created_at, safe_zone(Store.timezone, zones))
    facts: Facts = {}
    for metric, points, amount in (
        ("refund", Refund.points_reversed, Refund.refund_total),
        ("refund.returned", Refund.points_returned, None),
    ):
        query: AnySelect = select(
            *_row(
                Store.program_id,
                day,
                Refund.store_id,
                metric,
                "",
                points,
                amount if amount is not None else 0,
            )
        ).join(Store, Store.id == Refund.store_id)
        query = _in_scope(query, Refund.id, Store.program_id, scope)
        _grouped(session, query, facts)
    return facts


def _accepted(session: Session, scope: Scope, zones: set[str], *columns: Col) -> AnySelect:
    query: AnySelect = (
        select(*columns)
        .select_from(UsedCode)
        .join(WalletPass, WalletPass.id == UsedCode.pass_id)
        .join(Card, Card.id == WalletPass.card_id)
        .join(Terminal, Terminal.id == UsedCode.terminal_id)
        .join(Store, Store.id == Terminal.store_id)
    )
    query = _in_scope(query, UsedCode.id, Card.program_id, scope)
    return query


def _scan_day(session: Session, zones: set[str]) -> ColumnElement[str]:
    return local_day(session, UsedCode.used_at, safe_zone(Store.timezone, zones))


def scan_facts(session: Session, scope: Scope, zones: set[str]) -> Facts:
    """Accepted scans (`scan`, dim `accepted`) by the store's day."""
    day = _scan_day(session, zones)
    query = _accepted(
        session,
        scope,
        zones,
        *_row(Card.program_id, day, Terminal.store_id, "scan", "accepted", 0, 0),
    )
    return _collect(session, query)


def visit_facts(session: Session, scope: Scope, zones: set[str]) -> set[tuple[int, str, int]]:
    """(program, day, card) of each card with an accepted scan on the store's day."""
    day = _scan_day(session, zones).label("day")
    inner = _accepted(
        session, scope, zones, Card.program_id.label("program_id"), day, Card.id.label("card")
    ).subquery()
    prepare(session)
    query = select(inner.c.program_id, inner.c.day, inner.c.card).distinct()
    return {(int(p), str(d), int(c)) for p, d, c in session.execute(query)}


def failure_facts(session: Session, scope: Scope, zones: set[str]) -> Facts:
    """Failed scans (`scan`, dim the reason: code_rejected, unknown_card, old_copy) by the
    store's day."""
    day = local_day(session, ScanFailure.at, safe_zone(Store.timezone, zones))
    query = (
        select(*_row(Store.program_id, day, Terminal.store_id, "scan", ScanFailure.reason, 0, 0))
        .select_from(ScanFailure)
        .join(Terminal, Terminal.id == ScanFailure.terminal_id)
        .join(Store, Store.id == Terminal.store_id)
    )
    query = _in_scope(query, ScanFailure.id, Store.program_id, scope)
    return _collect(session, query)


def refusal_facts(session: Session, scope: Scope, zones: set[str]) -> Facts:
    """Scans refused without counting toward a lock (`scan`, dim the reason: replayed,
    card_locked, malformed) by the store's day."""
    day = local_day(session, ScanRefusal.at, safe_zone(Store.timezone, zones))
    query = (
        select(*_row(Store.program_id, day, ScanRefusal.store_id, "scan", ScanRefusal.reason, 0, 0))
        .select_from(ScanRefusal)
        .join(Store, Store.id == ScanRefusal.store_id)
    )
    query = _in_scope(query, ScanRefusal.id, Store.program_id, scope)
    return _collect(session, query)


def apple_install_facts(session: Session, scope: Scope, zones: set[str]) -> Facts:
    """Apple registrations and unregistrations (`install`, dim `apple.registered` or
    `apple.unregistered`) on the program's day."""
    day = local_day(session, AppleRegistrationEvent.at, safe_zone(Program.timezone, zones))
    dim = literal("apple.", String) + AppleRegistrationEvent.event
    query: AnySelect = (
        select(*_row(Card.program_id, day, literal(0), "install", dim, 0, 0))
        .select_from(AppleRegistrationEvent)
        .join(WalletPass, WalletPass.id == AppleRegistrationEvent.pass_id)
        .join(Card, Card.id == WalletPass.card_id)
        .join(Program, Program.id == Card.program_id)
    )
    query = _in_scope(query, AppleRegistrationEvent.id, Card.program_id, scope)
    return _collect(session, query)


def google_install_facts(session: Session, scope: Scope, zones: set[str]) -> Facts:
    """Google save and delete callbacks (`install`, dim `google.save` or `google.del`) on the
    program's day."""
    day = local_day(session, GoogleCallbackNonce.received_at, safe_zone(Program.timezone, zones))
    dim = literal("google.", String) + GoogleCallbackNonce.event_type
    query: AnySelect = (
        select(*_row(Card.program_id, day, literal(0), "install", dim, 0, 0))
        .select_from(GoogleCallbackNonce)
        .join(WalletPass, WalletPass.google_object_id == GoogleCallbackNonce.object_id)
        .join(Card, Card.id == WalletPass.card_id)
        .join(Program, Program.id == Card.program_id)
    )
    query = _in_scope(query, GoogleCallbackNonce.id, Card.program_id, scope)
    return _collect(session, query)


# Metrics that belong to no store: a store filter leaves them as they are.
PROGRAM_WIDE = ("install",)


@dataclass(frozen=True, slots=True)
class Source:
    """A table the rollups read in id order: its id and time columns and its facts."""

    name: str
    id_column: Col
    time_column: Col
    facts: Callable[[Session, Scope, set[str]], Facts]


SOURCES = (
    Source("ledger", LedgerEntry.id, LedgerEntry.created_at, ledger_facts),
    Source("accruals", Accrual.id, Accrual.created_at, accrual_facts),
    Source("refunds", Refund.id, Refund.created_at, refund_facts),
    Source("used_codes", UsedCode.id, UsedCode.used_at, scan_facts),
    Source("scan_failures", ScanFailure.id, ScanFailure.at, failure_facts),
    Source("scan_refusals", ScanRefusal.id, ScanRefusal.at, refusal_facts),
    Source(
        "apple_events", AppleRegistrationEvent.id, AppleRegistrationEvent.at, apple_install_facts
    ),
    Source(
        "google_nonces",
        GoogleCallbackNonce.id,
        GoogleCallbackNonce.received_at,
        google_install_facts,
    ),
)
