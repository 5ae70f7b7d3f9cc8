"""The program dashboard: every figure and chart table for one program, range and store.

Daily sums of the large or purged tables come from report_daily plus the rows written since
the last rollup (the same SQL over the newer ids), so they are exact at any moment; the rest is
read from the raw rows. Each chart is a table of text cells: the page, the chart and the CSV
show exactly those numbers.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import Select, String, and_, case, func, literal, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from gateway.domain.errors import GatewayError
from gateway.models.enrollment import Enrollment
from gateway.models.pos import Store
from gateway.models.program import Program, Reward
from gateway.models.report import ReportDaily, ReportVisit
from gateway.services.reports.days import (
    DateRange,
    local_day,
    local_today,
    parse_range,
    prepare,
    safe_zone,
)
from gateway.services.reports.facts import (
    PROGRAM_WIDE,
    SOURCES,
    Scope,
    Sums,
    visit_facts,
    zone_names,
)
from gateway.services.reports.rollups import watermarks
from gateway.services.reports.state import ProgramState, current_state

CENT = Decimal("0.01")
Cell = str


def money(value: Decimal) -> str:
    """Money with two decimals."""
    return str(Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP))


def ratio(numerator: int | Decimal, denominator: int | Decimal, digits: str = "0.01") -> str:
    """numerator / denominator rounded, or an em dash when there is nothing to divide by."""
    if not denominator:
        return "—"
    value = Decimal(numerator) / Decimal(denominator)
    return str(value.quantize(Decimal(digits), rounding=ROUND_HALF_UP))


def percent(numerator: int, denominator: int) -> str:
    """A share in percent with one decimal, or an em dash."""
    if not denominator:
        return "—"
    value = Decimal(numerator) * 100 / Decimal(denominator)
    return f"{value.quantize(Decimal('0.1'), rounding=ROUND_HALF_UP)} %"


@dataclass(frozen=True, slots=True)
class Chart:
    """One chart and its table: the first column labels the rows (a day, a store, a reward)."""

    key: str
    title: str
    kind: str  # line | bar
    columns: tuple[str, ...]
    rows: Sequence[tuple[Cell, ...]]
    whole_program: bool = False  # not narrowed by the store filter
    note: str = ""

    def csv_rows(self) -> Iterator[tuple[Cell, ...]]:
        """The header, then exactly the rows of the table."""
        yield self.columns
        yield from self.rows

    def series(self) -> dict[str, object]:
        """What the page's script draws: labels and one numeric series per column."""
        datasets = []
        for index, name in enumerate(self.columns[1:], start=1):
            values = [_number(row[index]) for row in self.rows]
            datasets.append({"label": name, "data": values})
        return {
            "key": self.key,
            "kind": self.kind,
            "labels": [row[0] for row in self.rows],
            "datasets": datasets,
        }


def _number(cell: str) -> float | None:
    try:
        return float(cell.rstrip(" %"))
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class Figure:
    """One headline number."""

    key: str
    label: str
    value: str
    hint: str = ""


@dataclass(slots=True)
class Dashboard:
    """The whole page for one program, range and store."""

    program: Program
    range: DateRange
    store: Store | None
    stores: list[Store]
    figures: list[Figure] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)

    def chart(self, key: str) -> Chart:
        """The chart named `key` (404 for another name)."""
        for chart in self.charts:
            if chart.key == key:
                return chart
        raise GatewayError("not_found", "There is no such chart.", 404)


def programs(session: Session) -> list[Program]:
    """The programs an operator may report on, by name."""
    return list(session.scalars(select(Program).order_by(Program.name, Program.id)))


def _program(session: Session, slug: str | None) -> Program:
    if slug:
        program = session.scalar(select(Program).where(Program.slug == slug))
    else:
        program = session.scalar(select(Program).order_by(Program.name, Program.id).limit(1))
    if program is None:
        raise GatewayError("not_found", "There is no such program.", 404)
    return program


def _store(session: Session, program: Program, code: str | None) -> Store | None:
    if not code:
        return None
    store = session.scalar(select(Store).where(Store.code == code, Store.program_id == program.id))
    if store is None:
        raise GatewayError("not_found", "This program has no such store.", 404)
    return store


def build_dashboard(
    session: Session,
    program_slug: str | None,
    store_code: str | None,
    start: str | None,
    end: str | None,
    now: datetime,
) -> Dashboard:
    """Every figure of the dashboard. 404 for an unknown program or a store of another
    program; 422 (FieldErrors) for a bad range."""
    program = _program(session, program_slug)
    store = _store(session, program, store_code)
    days = parse_range(start, end, local_today(program.timezone, now))
    stores = list(
        session.scalars(select(Store).where(Store.program_id == program.id).order_by(Store.name))
    )
    board = Dashboard(program, days, store, stores)
    daily = _daily_facts(session, program, days, store)
    state = current_state(session, program.id, now)
    _add_enrollments(session, board)
    _add_passes(board, daily, state)
    _add_scans(board, daily)
    _add_sales(board, daily)
    _add_points(board, daily, state)
    _add_budgets(session, board, state)
    _add_kpis(session, board, state, now)
    return board


@dataclass(slots=True)
class Daily:
    """Sums of the range by (day, metric, dim) over the chosen stores, and by (store, metric,
    dim) over the range."""

    days: dict[tuple[str, str, str], Sums] = field(default_factory=dict)
    stores: dict[tuple[int, str, str], Sums] = field(default_factory=dict)

    def add(self, day: str, store_id: int, metric: str, dim: str, sums: Sums) -> None:
        """Count one group in both views."""
        self.days.setdefault((day, metric, dim), Sums()).add(sums.count, sums.points, sums.amount)
        self.stores.setdefault((store_id, metric, dim), Sums()).add(
            sums.count, sums.points, sums.amount
        )


def _daily_facts(session: Session, program: Program, days: DateRange, store: Store | None) -> Daily:
    """report_daily for the range (summed in SQL) plus the rows written since the last rollup
    (the same SQL as the chore's, over the newer ids)."""
    where = [
        ReportDaily.program_id == program.id,
        ReportDaily.day >= days.first,
        ReportDaily.day <= days.last,
    ]
    if store is not None:
        where.append(or_(ReportDaily.store_id == store.id, ReportDaily.metric.in_(PROGRAM_WIDE)))
    sums = (func.sum(ReportDaily.count), func.sum(ReportDaily.points), func.sum(ReportDaily.amount))
    daily = Daily()
    per_day = (ReportDaily.day, ReportDaily.metric, ReportDaily.dim)
    for day, metric, dim, count, points, amount in session.execute(
        select(*per_day, *sums).where(*where).group_by(*per_day)
    ):
        daily.days[(day, metric, dim)] = Sums(int(count), int(points), Decimal(amount))
    per_store = (ReportDaily.store_id, ReportDaily.metric, ReportDaily.dim)
    for store_id, metric, dim, count, points, amount in session.execute(
        select(*per_store, *sums).where(*where).group_by(*per_store)
    ):
        daily.stores[(int(store_id), metric, dim)] = Sums(int(count), int(points), Decimal(amount))
    marks = watermarks(session)
    zones = zone_names(session)
    for source in SOURCES:
        tail = source.facts(session, Scope(marks[source.name], None, program.id), zones)
        for (_, day, store_id, metric, dim), value in tail.items():
            if not days.first <= day <= days.last:
                continue
            if store is not None and store_id != store.id and metric not in PROGRAM_WIDE:
                continue
            daily.add(day, store_id, metric, dim, value)
    return daily


def _by_day(daily: Daily, metric: str, dim: str | None = None) -> dict[str, Sums]:
    out: dict[str, Sums] = defaultdict(Sums)
    for (day, name, d), sums in daily.days.items():
        if name == metric and (dim is None or d == dim):
            out[day].add(sums.count, sums.points, sums.amount)
    return out


def _by_store(daily: Daily, metric: str, dim: str | None = None) -> dict[int, Sums]:
    out: dict[int, Sums] = defaultdict(Sums)
    for (store_id, name, d), sums in daily.stores.items():
        if name == metric and (dim is None or d == dim):
            out[store_id].add(sums.count, sums.points, sums.amount)
    return out


def _by_dim(daily: Daily, metric: str) -> dict[str, Sums]:
    out: dict[str, Sums] = defaultdict(Sums)
    for (_, name, d), sums in daily.days.items():
        if name == metric:
            out[d].add(sums.count, sums.points, sums.amount)
    return out


def _total(daily: Daily, metric: str, dim: str | None = None) -> Sums:
    total = Sums()
    for (_, name, d), sums in daily.days.items():
        if name == metric and (dim is None or d == dim):
            total.add(sums.count, sums.points, sums.amount)
    return total


def _program_day_counts(
    session: Session,
    board: Dashboard,
    query: Select[str, str],
) -> dict[tuple[str, str], int]:
    """Counts of (day, label) from a row-wise (day, label) select, grouped outside."""
    inner = query.subquery()
    grouped = select(inner.c.day, inner.c.label, func.count()).group_by(inner.c.day, inner.c.label)
    prepare(session)
    return {(str(day), str(label)): int(count) for day, label, count in session.execute(grouped)}


def _program_tz(board: Dashboard) -> ColumnElement[str]:
    return safe_zone(literal(board.program.timezone, String), {board.program.timezone})


CHANNELS = {"web": "page", "page": "page", "api": "api"}


def _add_enrollments(session: Session, board: Dashboard) -> None:
    """Started per channel, verified, and the outcome of each verified enrollment."""
    program, days = board.program, board.range
    low, high = days.utc_bounds(program.timezone)
    day = local_day(session, Enrollment.created_at, _program_tz(board))
    digitized = Enrollment.result["digitized_existing"].as_boolean()
    outcome = case(
        (Enrollment.member_id.is_(None), "pending"),
        (digitized.is_(True), "existing"),
        (digitized.is_(False), "new"),
        else_="verified",
    )
    label = Enrollment.channel + literal("|", String) + Enrollment.status + "|" + outcome
    query = select(day.label("day"), label.label("label")).where(
        Enrollment.program_id == program.id,
        Enrollment.created_at >= low,
        Enrollment.created_at < high,
    )
    counts = _program_day_counts(session, board, query)
    per_day: dict[str, list[int]] = {d: [0] * 6 for d in days.days()}
    for (d, text), count in counts.items():
        if d not in per_day:
            continue
        channel, status, result = text.split("|")
        row = per_day[d]
        row[("page", "api").index(CHANNELS[channel]) if channel in CHANNELS else 2] += count
        if status == "verified" and result != "pending":
            row[3] += count
            if result == "existing":
                row[4] += count
            elif result == "new":
                row[5] += count
    rows = [(d, *(str(v) for v in values)) for d, values in per_day.items()]
    started = sum(sum(values[:3]) for values in per_day.values())
    verified = sum(values[3] for values in per_day.values())
    board.charts.append(
        Chart(
            "enrollments",
            "Enrollments per day",
            "line",
            (
                "Day",
                "Started on the page",
                "Started through the API",
                "Imported or invited",
                "Verified",
                "Existing card digitized",
                "New member",
            ),
            rows,
            whole_program=True,
            note="Counted on the day the enrollment started (program's timezone).",
        )
    )
    board.figures.append(
        Figure("enrollments_started", "Enrollments started", str(started), "in the range")
    )
    board.figures.append(
        Figure(
            "verification_rate",
            "Verified of started",
            percent(verified, started),
            f"{started - verified} dropped off before verifying",
        )
    )


def _as_of(state: ProgramState) -> str:
    return f"as of {state.taken_at.strftime('%Y-%m-%d %H:%M')} UTC" if state.snapshot else "now"


def _add_passes(board: Dashboard, daily: Daily, state: ProgramState) -> None:
    """Apple registrations and unregistrations, Google saves and deletes; what is active now."""
    labels = ("apple.registered", "apple.unregistered", "google.save", "google.del")
    per_label = {label: _by_day(daily, "install", label) for label in labels}
    rows = [(d, *(str(per_label[label][d].count) for label in labels)) for d in board.range.days()]
    board.charts.append(
        Chart(
            "passes",
            "Passes added and removed per day",
            "line",
            ("Day", "Apple added", "Apple removed", "Google saved", "Google deleted"),
            rows,
            whole_program=True,
            note="Apple: device registrations and unregistrations; Google: save and delete "
            "callbacks (program's timezone).",
        )
    )
    board.figures.append(
        Figure("apple_active", "Apple passes on phones", str(state.apple_active), _as_of(state))
    )
    board.figures.append(
        Figure("google_active", "Google passes saved", str(state.google_active), _as_of(state))
    )


SCAN_OUTCOMES = (
    ("accepted", "Accepted"),
    ("code_rejected", "Wrong code"),
    ("unknown_card", "Unknown card"),
    ("old_copy", "Old copy"),
    ("replayed", "Replayed"),
    ("card_locked", "Card locked"),
    ("malformed", "Malformed"),
)


def _store_label(board: Dashboard, store_id: int) -> str:
    for store in board.stores:
        if store.id == store_id:
            return f"{store.name} ({store.code})"
    return "No store" if store_id == 0 else f"Store {store_id}"


def _add_scans(board: Dashboard, daily: Daily) -> None:
    """Accepted and refused scans per day and per store, on the store's day."""
    per_outcome = {dim: _by_day(daily, "scan", dim) for dim, _ in SCAN_OUTCOMES}
    rows = [
        (d, *(str(per_outcome[dim][d].count) for dim, _ in SCAN_OUTCOMES))
        for d in board.range.days()
    ]
    columns = ("Day", *(label for _, label in SCAN_OUTCOMES))
    note = (
        "Each store's scans fall on the store's own day. Old copy: a code of a replaced card's "
        "old pass; replayed: a code used before; card locked: a scan while the card is locked "
        "after wrong codes."
    )
    board.charts.append(Chart("scans", "Scans per day", "line", columns, rows, note=note))
    per_store = {dim: _by_store(daily, "scan", dim) for dim, _ in SCAN_OUTCOMES}
    store_ids = sorted(
        {s for values in per_store.values() for s in values}, key=lambda s: _store_label(board, s)
    )
    store_rows = [
        (_store_label(board, s), *(str(per_store[dim][s].count) for dim, _ in SCAN_OUTCOMES))
        for s in store_ids
    ]
    board.charts.append(
        Chart(
            "scans_by_store",
            "Scans per store",
            "bar",
            ("Store", *(label for _, label in SCAN_OUTCOMES)),
            store_rows,
        )
    )


def _sales_cells(redeemed: Sums, accrued: Sums, refunds: Sums) -> tuple[str, ...]:
    return (
        str(redeemed.count),
        str(-redeemed.points),
        str(accrued.count),
        str(accrued.points),
        ratio(accrued.amount, accrued.count),
        str(refunds.count),
        money(refunds.amount),
    )


SALES_COLUMNS = (
    "Redemptions",
    "Points redeemed",
    "Accruals",
    "Points accrued",
    "Average order",
    "Refunds",
    "Money refunded",
)


def _add_sales(board: Dashboard, daily: Daily) -> None:
    """Redemptions, accruals and refunds per day, per store and per reward."""
    redeemed = _by_day(daily, "ledger.redemption", "-")
    accrued = _by_day(daily, "accrual")
    refunds = _by_day(daily, "refund")
    rows = [(d, *_sales_cells(redeemed[d], accrued[d], refunds[d])) for d in board.range.days()]
    board.charts.append(
        Chart(
            "sales",
            "Redemptions, accruals and refunds per day",
            "line",
            ("Day", *SALES_COLUMNS),
            rows,
            note="Redemptions are captured ones; the average order is over accruals.",
        )
    )
    redeemed_s = _by_store(daily, "ledger.redemption", "-")
    accrued_s = _by_store(daily, "accrual")
    refunds_s = _by_store(daily, "refund")
    store_ids = sorted(
        set(redeemed_s) | set(accrued_s) | set(refunds_s), key=lambda s: _store_label(board, s)
    )
    board.charts.append(
        Chart(
            "sales_by_store",
            "Redemptions, accruals and refunds per store",
            "bar",
            ("Store", *SALES_COLUMNS),
            [
                (_store_label(board, s), *_sales_cells(redeemed_s[s], accrued_s[s], refunds_s[s]))
                for s in store_ids
            ],
        )
    )
    names = {reward.code: reward.name for reward in board.program.rewards}
    by_reward = _by_dim(daily, "redemption.reward")
    board.charts.append(
        Chart(
            "redemptions_by_reward",
            "Redemptions per reward",
            "bar",
            ("Reward", "Redemptions", "Points"),
            [
                (
                    f"{names.get(code, code)} ({code})" if code else "Discount (no reward)",
                    str(sums.count),
                    str(sums.points),
                )
                for code, sums in sorted(by_reward.items())
            ],
        )
    )
    total = _total(daily, "accrual")
    board.figures.append(
        Figure(
            "average_order",
            "Average order with an accrual",
            f"{ratio(total.amount, total.count)} {board.program.currency}" if total.count else "—",
        )
    )


def _add_points(board: Dashboard, daily: Daily, state: ProgramState) -> None:
    """Points per day by movement; outstanding points, their value and what expires soon."""
    issued = _by_day(daily, "ledger.accrual")
    redeemed = _by_day(daily, "ledger.redemption")
    expired = _by_day(daily, "ledger.expiry")
    adjusted = _by_day(daily, "ledger.adjustment")
    reversed_ = _by_day(daily, "ledger.reversal")
    imported = _by_day(daily, "ledger.import")
    rows = [
        (
            d,
            str(issued[d].points),
            str(-redeemed[d].points),
            str(-expired[d].points),
            str(adjusted[d].points),
            str(reversed_[d].points),
            str(imported[d].points),
        )
        for d in board.range.days()
    ]
    note = "Adjustments and refunds are net (taken back points count negative)."
    if board.store is not None:
        note += " Expiries, adjustments and imports belong to no store: choose All stores."
    board.charts.append(
        Chart(
            "points",
            "Points per day",
            "line",
            ("Day", "Issued", "Redeemed", "Expired", "Adjusted", "Refunds and voids", "Imported"),
            rows,
            note=note,
        )
    )
    program = board.program
    outstanding, expiring = state.outstanding_points, state.expiring_points
    board.figures.append(
        Figure("outstanding_points", "Outstanding points", str(outstanding), _as_of(state))
    )
    board.figures.append(
        Figure(
            "liability",
            "Liability",
            f"{money(outstanding * program.point_value)} {program.currency}",
            f"at {program.point_value.normalize()} {program.currency} a point",
        )
    )
    board.figures.append(
        Figure(
            "expiring_30_days", "Points expiring in the next 30 days", str(expiring), _as_of(state)
        )
    )
    total_issued = sum(s.points for s in issued.values())
    total_redeemed = -sum(s.points for s in redeemed.values())
    board.figures.append(
        Figure(
            "redemption_rate",
            "Redemption rate",
            percent(total_redeemed, total_issued),
            "points redeemed of points issued, in the range",
        )
    )


def _add_budgets(session: Session, board: Dashboard, state: ProgramState) -> None:
    """Per reward: budget, points taken by redemptions not given back, and stock left."""
    spent = state.reward_spent
    rewards = session.scalars(
        select(Reward).where(Reward.program_id == board.program.id).order_by(Reward.code)
    )
    rows = []
    for reward in rewards:
        used = spent.get(reward.id, 0)
        budget = reward.budget_points
        rows.append(
            (
                f"{reward.name} ({reward.code})",
                "" if budget is None else str(budget),
                str(used),
                "" if budget is None else str(budget - used),
                "" if reward.stock is None else str(reward.stock),
            )
        )
    board.charts.append(
        Chart(
            "budgets",
            "Budget burn per reward",
            "bar",
            ("Reward", "Budget", "Spent", "Budget left", "Stock left"),
            rows,
            whole_program=True,
            note="Spent: points of held and captured redemptions not given back by refunds. "
            "Blank budget or stock: unlimited.",
        )
    )


def _visits(
    session: Session, board: Dashboard, since: str, tail: set[tuple[int, str, int]]
) -> tuple[int, int]:
    """(visits, distinct cards) from `since` on: report_visits plus the newer scans."""
    program_id = board.program.id
    window = and_(ReportVisit.program_id == program_id, ReportVisit.day >= since)
    visits = int(session.scalar(select(func.count()).where(window)) or 0)
    cards = int(
        session.scalar(select(func.count(func.distinct(ReportVisit.card_id))).where(window)) or 0
    )
    recent = {(day, card) for _, day, card in tail if day >= since}
    if recent:
        recent_cards = {card for _, card in recent}
        known = {
            (str(day), int(card))
            for day, card in session.execute(
                select(ReportVisit.day, ReportVisit.card_id).where(
                    window, ReportVisit.card_id.in_(recent_cards)
                )
            )
        }
        known_cards = {card for _, card in known}
        visits += len(recent - known)
        cards += len(recent_cards - known_cards)
    return visits, cards


def _add_kpis(session: Session, board: Dashboard, state: ProgramState, now: datetime) -> None:
    """Members with a pass, active members (a scan in 30 and 90 days), visits per member."""
    program = board.program
    members, with_pass = state.members, state.members_with_pass
    today = local_today(program.timezone, now)
    marks = watermarks(session)
    tail = visit_facts(session, Scope(marks["used_codes"], None, program.id), zone_names(session))
    _, active_30 = _visits(session, board, (today - timedelta(days=29)).isoformat(), tail)
    visits_90, active_90 = _visits(session, board, (today - timedelta(days=89)).isoformat(), tail)
    board.figures[:0] = [
        Figure("members", "Members", str(members), _as_of(state)),
        Figure(
            "members_with_pass",
            "Members with a pass on a phone",
            percent(with_pass, members),
            f"{with_pass} of {members}",
        ),
        Figure("active_30", "Active members (30 days)", str(active_30), "a scan in 30 days"),
        Figure("active_90", "Active members (90 days)", str(active_90), "a scan in 90 days"),
        Figure(
            "visits_per_active",
            "Visits per active member (90 days)",
            ratio(visits_90, active_90),
            "days with a scan, per member with one",
        ),
    ]
