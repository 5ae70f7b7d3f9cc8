"""Numbers that are right: a known history (enrollments, installs, scans of each outcome,
redemptions, accruals, refunds, expiries, adjustments across two stores far apart in time and
three days) and every figure, chart table and CSV row of the dashboard checked against plain SQL
over the raw rows, written here independently. The same figures come out with no rollup, a
partial one, a full one, and after the scan records were purged."""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select, text

from gateway.models.apple_device import AppleDevice, AppleRegistration
from gateway.models.card import Card
from gateway.models.enrollment import Enrollment
from gateway.models.google_callback import GoogleCallbackNonce
from gateway.models.ledger import LedgerEntry
from gateway.models.member import Account
from gateway.models.pos import Accrual, Redemption, Refund, ScanFailure, Store, Terminal, UsedCode
from gateway.models.program import Program, Reward
from gateway.models.report import AppleRegistrationEvent, ReportDaily
from gateway.models.scan_refusal import ScanRefusal
from gateway.pos import cardholder
from gateway.pos.scan_lockout import record_failure, record_refusal
from gateway.pos.terminals import TerminalContext
from gateway.runtime import runtime
from gateway.services.reports.csv_export import csv_lines
from gateway.services.reports.dashboard import Dashboard, build_dashboard
from gateway.services.reports.rollups import refresh_rollups
from tests.factories import enroll_member

PROGRAM_TZ = "Asia/Tokyo"  # UTC+9
LA, TOKYO = "America/Los_Angeles", "Asia/Tokyo"


@dataclass
class History:
    """What the seed made: the UTC midnight it starts from and the range covering it."""

    base: datetime
    first: str
    last: str
    store_a: str
    store_b: str


def seed_history(app) -> History:
    """Two stores (Los Angeles and Tokyo), four members, three days of activity around UTC
    midnights, so the program's, each store's and UTC's days all differ."""
    now = datetime.now(UTC)
    base = datetime.combine(now.date() - timedelta(days=3), datetime.min.time(), UTC)

    def t(day: int, hour: int) -> datetime:
        return base + timedelta(days=day, hours=hour)

    members = [enroll_member(app) for _ in range(4)]
    rt = runtime(app)
    with rt.sessions() as session:
        program = session.scalar(select(Program).where(Program.slug == "demo"))
        assert program is not None
        program.timezone = PROGRAM_TZ
        program.point_value = Decimal("0.0250")
        rewards = {r.code: r for r in session.scalars(select(Reward))}
        rewards["coffee"].budget_points, rewards["coffee"].stock = 10_000, 7
        store_a = Store(program_id=program.id, code="LAX1", name="Los Angeles", timezone=LA)
        store_b = Store(program_id=program.id, code="TYO1", name="Tokyo", timezone=TOKYO)
        session.add_all([store_a, store_b])
        session.flush()
        till_a = Terminal(store_id=store_a.id, key_prefix="a", key_hash="a" * 64)
        till_b = Terminal(store_id=store_b.id, key_prefix="b", key_hash="b" * 64)
        session.add_all([till_a, till_b])
        session.flush()
        cards = [session.scalar(select(Card).where(Card.member_id == m.member_id)) for m in members]
        passes = {
            (i, p.wallet): p
            for i, card in enumerate(cards)
            for p in card.passes  # type: ignore[union-attr]
        }
        accounts = [m.account_id for m in members]

        def enrollment(n, channel, status, at, member=None, existing=None):
            session.add(
                Enrollment(
                    id=f"enr_report_{n}",
                    program_id=program.id,
                    contact_kind="email",
                    contact=f"report{n}@example.com",
                    channel=channel,
                    code_hash="0" * 64,
                    status=status,
                    expires_at=at + timedelta(minutes=15),
                    member_id=member,
                    result=None if existing is None else {"digitized_existing": existing},
                    created_at=at,
                )
            )

        enrollment(1, "api", "verified", t(0, -1), members[0].member_id, True)
        enrollment(2, "web", "verified", t(0, 5), members[1].member_id, False)
        enrollment(3, "api", "pending", t(1, 3))
        enrollment(4, "import", "dead", t(1, 20))
        enrollment(5, "api", "verified", t(2, 10), members[2].member_id, False)

        device = AppleDevice(device_library_id="device-1", push_token="token")
        session.add(device)
        session.flush()
        session.add(AppleRegistration(device_id=device.id, pass_id=passes[1, "apple"].id))
        for pass_key, event, at in (
            ((0, "apple"), "registered", t(0, 1)),
            ((1, "apple"), "registered", t(1, 2)),
            ((0, "apple"), "unregistered", t(2, 16)),
        ):
            session.add(
                AppleRegistrationEvent(
                    pass_id=passes[pass_key].id, device_id=device.id, event=event, at=at
                )
            )
        passes[2, "google"].google_state = "saved"
        passes[3, "google"].google_state = "deleted"
        for n, (pass_key, event, at) in enumerate(
            (((2, "google"), "save", t(1, 12)), ((3, "google"), "del", t(2, 1)))
        ):
            session.add(
                GoogleCallbackNonce(
                    nonce=f"nonce-{n}",
                    object_id=passes[pass_key].google_object_id or "",
                    event_type=event,
                    received_at=at,
                )
            )

        for step, (pass_key, till, at) in enumerate(
            (
                ((0, "apple"), till_a, t(0, 2)),  # Los Angeles: the day before
                ((0, "google"), till_a, t(0, 20)),
                ((1, "apple"), till_b, t(1, 16)),  # Tokyo: the day after
                ((1, "apple"), till_b, t(1, 10)),
                ((2, "google"), till_a, t(2, 9)),
            ),
            start=1,
        ):
            session.add(
                UsedCode(pass_id=passes[pass_key].id, step=step, terminal_id=till.id, used_at=at)
            )
        for card, till, reason, at in (
            (cards[0], till_a, "code_rejected", t(0, 3)),
            (None, till_b, "unknown_card", t(1, 14)),
            (cards[1], till_b, "code_rejected", t(2, 0)),
        ):
            session.add(
                ScanFailure(
                    card_id=card.id if card else None, terminal_id=till.id, reason=reason, at=at
                )
            )

        def ledger(
            i, kind, points, at, store=None, reference=None, held=0, remaining=None, expires=None
        ):
            session.add(
                LedgerEntry(
                    account_id=accounts[i],
                    kind=kind,
                    points=points,
                    held_change=held,
                    remaining=max(points, 0) if remaining is None else remaining,
                    expires_at=expires or (at + timedelta(days=365) if points > 0 else None),
                    store_id=store.id if store else None,
                    reference=reference,
                    created_at=at,
                )
            )

        def accrual(n, i, store, till, total, points, at):
            session.add(
                Accrual(
                    public_id=f"acc{n}",
                    account_id=accounts[i],
                    card_id=cards[i].id,
                    store_id=store.id,
                    terminal_id=till.id,
                    order_id=f"order-{n}",
                    order_total=Decimal(total),
                    currency="EUR",
                    points=points,
                    created_at=at,
                )
            )
            ledger(i, "accrual", points, at, store, f"accrual:acc{n}")

        accrual(1, 0, store_a, till_a, "25.50", 25, t(0, 4))
        accrual(2, 1, store_b, till_b, "40.00", 40, t(1, 15))  # exactly Tokyo midnight
        accrual(3, 2, store_a, till_a, "10.00", 10, t(2, 7))
        ledger(3, "import", 500, t(0, 0), remaining=300, expires=now + timedelta(days=20))

        def redemption(n, i, store, till, reward, points, status, at, returned=0):
            session.add(
                Redemption(
                    public_id=f"rdm{n}",
                    account_id=accounts[i],
                    card_id=cards[i].id,
                    store_id=store.id,
                    terminal_id=till.id,
                    reward_id=rewards[reward].id if reward else None,
                    points=points,
                    status=status,
                    returned_points=returned,
                    created_at=at,
                )
            )

        redemption(1, 3, store_b, till_b, "pastry", 300, "captured", t(1, 1), returned=100)
        ledger(3, "redemption", -300, t(1, 1), store_b, "redemption:rdm1")
        redemption(2, 0, store_a, till_a, "coffee", 20, "voided", t(1, 5))
        ledger(0, "hold", 0, t(1, 5), store_a, "redemption:rdm2", held=20)
        ledger(0, "release", 0, t(1, 6), store_a, "redemption:rdm2", held=-20)
        redemption(3, 1, store_b, till_b, None, 15, "captured", t(2, 3))
        ledger(1, "redemption", -15, t(2, 3), store_b, "redemption:rdm3")
        redemption(4, 2, store_a, till_a, "coffee", 500, "held", t(2, 8))
        ledger(2, "hold", 0, t(2, 8), store_a, "redemption:rdm4", held=0)

        for n, (i, store, till, total, reversed_, returned, at) in enumerate(
            (
                (1, store_b, till_b, "20.00", 20, 0, t(2, 5)),
                (3, store_b, till_b, "0.00", 0, 100, t(2, 6)),
            ),
            start=1,
        ):
            session.add(
                Refund(
                    public_id=f"ref{n}",
                    store_id=store.id,
                    terminal_id=till.id,
                    account_id=accounts[i],
                    order_id=f"refund-order-{n}",
                    refund_key="k",
                    refund_total=Decimal(total),
                    points_reversed=reversed_,
                    points_returned=returned,
                    created_at=at,
                )
            )
            if reversed_:
                ledger(i, "reversal", -reversed_, at, store, f"refund:ref{n}")
            if returned:
                ledger(i, "reversal", returned, at, store, f"refund:ref{n}")
        ledger(0, "expiry", -5, t(1, 23), reference="expiry")
        ledger(2, "adjustment", 50, t(1, 8), reference="adj-1")
        ledger(0, "adjustment", -3, t(2, 2), reference="adj-2")
        session.flush()
        for account_id in accounts:
            total = session.scalar(
                text("SELECT COALESCE(SUM(points), 0) FROM ledger_entries WHERE account_id = :a"),
                {"a": account_id},
            )
            account = session.get(Account, account_id)
            assert account is not None
            account.balance, account.held = int(total or 0), 0
        session.commit()
        codes = (store_a.code, store_b.code)
        tills = {
            till.id: TerminalContext(till.id, store.id, store.code, program.id, None, None)
            for till, store in ((till_a, store_a), (till_b, store_b))
        }
        a, b = tills[till_a.id], tills[till_b.id]
        card_ids = [card.id for card in cards]  # type: ignore[union-attr]
        program_id = program.id
        with_card = [
            cardholder.by_number(session, program_id, card.number)  # type: ignore[union-attr]
            for card in cards
        ]
    # Refused scans that count toward no lock, through the POS's own recording (each in a
    # unit of work of its own, as at the till); an old copy through the failure counting.
    for till, card, reason, at in (
        (a, card_ids[0], "replayed", t(0, 6)),  # Los Angeles: the evening before
        (b, card_ids[1], "replayed", t(1, 15)),  # exactly Tokyo midnight
        (b, card_ids[1], "card_locked", t(2, 4)),
        (a, None, "malformed", t(1, 9)),
        (a, card_ids[2], "malformed", t(2, 11)),
    ):
        record_refusal(rt, till, card, reason, at)
    old_copy_of = with_card[3]
    assert old_copy_of is not None
    assert record_failure(rt, b, old_copy_of, t(0, 14), old_copy=True) is None
    today = now.astimezone(ZoneInfo(PROGRAM_TZ)).date()
    first = (base.date() - timedelta(days=2)).isoformat()
    return History(base, first, today.isoformat(), *codes)


# ---- the same figures, from plain SQL over the raw rows ------------------------------------


def _moment(value) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _day(value, tz: str) -> str:
    return _moment(value).astimezone(ZoneInfo(tz)).date().isoformat()


def _days(first: str, last: str) -> list[str]:
    start, end = date.fromisoformat(first), date.fromisoformat(last)
    return [(start + timedelta(days=n)).isoformat() for n in range((end - start).days + 1)]


def _q(value: Decimal, places: str = "0.01") -> str:
    return str(Decimal(value).quantize(Decimal(places), rounding=ROUND_HALF_UP))


def _json(value):
    return json.loads(value) if isinstance(value, str) else value


class Expected:
    """Chart tables and figures computed from SQL text over the raw rows."""

    def __init__(self, session, history: History, store: str | None = None):
        self.s, self.h, self.store = session, history, store
        self.days = _days(history.first, history.last)
        self.program = session.execute(
            text("SELECT id, point_value FROM programs WHERE slug = 'demo'")
        ).one()

    def rows(self, sql: str, **params):
        return self.s.execute(text(sql), {"p": self.program.id, **params}).all()

    def _store_ok(self, code) -> bool:
        return self.store is None or code == self.store

    def enrollments(self):
        table = {d: [0] * 6 for d in self.days}
        for at, channel, status, member_id, result in self.rows(
            "SELECT created_at, channel, status, member_id, result FROM enrollments "
            "WHERE program_id = :p"
        ):
            day = _day(at, PROGRAM_TZ)
            if day not in table:
                continue
            row = table[day]
            row[{"web": 0, "api": 1}.get(channel, 2)] += 1
            if status == "verified" and member_id is not None:
                row[3] += 1
                existing = (_json(result) or {}).get("digitized_existing")
                if existing is True:
                    row[4] += 1
                elif existing is False:
                    row[5] += 1
        return [(d, *map(str, v)) for d, v in table.items()]

    def passes(self):
        table = {d: [0] * 4 for d in self.days}
        for at, event in self.rows(
            "SELECT e.at, e.event FROM apple_registration_events e "
            "JOIN passes p ON p.id = e.pass_id JOIN cards c ON c.id = p.card_id "
            "WHERE c.program_id = :p"
        ):
            day = _day(at, PROGRAM_TZ)
            if day in table:
                table[day][0 if event == "registered" else 1] += 1
        for at, event in self.rows(
            "SELECT n.received_at, n.event_type FROM google_callback_nonces n "
            "JOIN passes p ON p.google_object_id = n.object_id JOIN cards c ON c.id = p.card_id "
            "WHERE c.program_id = :p"
        ):
            day = _day(at, PROGRAM_TZ)
            if day in table:
                table[day][2 if event == "save" else 3] += 1
        return [(d, *map(str, v)) for d, v in table.items()]

    def _scans(self):
        """(store label, store day, outcome) of every scan."""
        out = []
        for at, name, code, tz in self.rows(
            "SELECT u.used_at, s.name, s.code, s.timezone FROM used_codes u "
            "JOIN terminals t ON t.id = u.terminal_id JOIN stores s ON s.id = t.store_id "
            "WHERE s.program_id = :p"
        ):
            out.append((f"{name} ({code})", code, _day(at, tz), "accepted"))
        for at, name, code, tz, reason in self.rows(
            "SELECT f.at, s.name, s.code, s.timezone, f.reason FROM scan_failures f "
            "JOIN terminals t ON t.id = f.terminal_id JOIN stores s ON s.id = t.store_id "
            "WHERE s.program_id = :p "
            "UNION ALL "
            "SELECT r.at, s.name, s.code, s.timezone, r.reason FROM scan_refusals r "
            "JOIN stores s ON s.id = r.store_id WHERE s.program_id = :p"
        ):
            out.append((f"{name} ({code})", code, _day(at, tz), reason))
        return [row for row in out if self._store_ok(row[1]) and row[2] in self.days]

    OUTCOMES = (
        "accepted",
        "code_rejected",
        "unknown_card",
        "old_copy",
        "replayed",
        "card_locked",
        "malformed",
    )

    def scans(self):
        table = {d: [0] * len(self.OUTCOMES) for d in self.days}
        for _, _, day, outcome in self._scans():
            table[day][self.OUTCOMES.index(outcome)] += 1
        return [(d, *map(str, v)) for d, v in table.items()]

    def scans_by_store(self):
        table: dict[str, list[int]] = defaultdict(lambda: [0] * len(self.OUTCOMES))
        for label, _, _, outcome in self._scans():
            table[label][self.OUTCOMES.index(outcome)] += 1
        return [(label, *map(str, table[label])) for label in sorted(table)]

    def _ledger(self):
        """(kind, points, store label or None, day, reference) of every ledger row."""
        out = []
        for at, kind, points, reference, name, code, tz in self.rows(
            "SELECT l.created_at, l.kind, l.points, l.reference, s.name, s.code, s.timezone "
            "FROM ledger_entries l JOIN accounts a ON a.id = l.account_id "
            "JOIN members m ON m.id = a.member_id LEFT JOIN stores s ON s.id = l.store_id "
            "WHERE m.program_id = :p"
        ):
            label = f"{name} ({code})" if code else None
            out.append((kind, points, label, code, _day(at, tz or PROGRAM_TZ), reference))
        return [
            row
            for row in out
            if row[4] in self.days and (self.store is None or row[3] == self.store)
        ]

    def _pos(self, table: str, columns: str):
        out = []
        for row in self.rows(
            f"SELECT x.created_at, s.name, s.code, s.timezone, {columns} FROM {table} x "
            "JOIN stores s ON s.id = x.store_id WHERE s.program_id = :p"
        ):
            at, name, code, tz, *values = row
            if self._store_ok(code) and _day(at, tz) in self.days:
                out.append((f"{name} ({code})", _day(at, tz), *values))
        return out

    def _sales(self, key):
        """Sales cells grouped by `key` (1: day, 0: store label)."""
        groups: dict[str, list] = defaultdict(lambda: [0, 0, 0, 0, Decimal(0), 0, Decimal(0)])
        for kind, points, label, _, day, _ in self._ledger():
            if kind == "redemption" and points < 0:
                g = groups[day if key else label]
                g[0] += 1
                g[1] -= points
        for label, day, points, total in self._pos("accruals", "x.points, x.order_total"):
            g = groups[day if key else label]
            g[2] += 1
            g[3] += points
            g[4] += Decimal(total)
        for label, day, total in self._pos("refunds", "x.refund_total"):
            g = groups[day if key else label]
            g[5] += 1
            g[6] += Decimal(total)
        return groups

    @staticmethod
    def _sales_cells(g):
        average = _q(g[4] / g[2]) if g[2] else "—"
        return (str(g[0]), str(g[1]), str(g[2]), str(g[3]), average, str(g[5]), _q(g[6]))

    def sales(self):
        groups = self._sales(1)
        return [(d, *self._sales_cells(groups[d])) for d in self.days]

    def sales_by_store(self):
        groups = self._sales(0)
        return [(label, *self._sales_cells(groups[label])) for label in sorted(groups)]

    def redemptions_by_reward(self):
        rewards = {
            ref: (code, name, points)
            for ref, code, name, points in self.rows(
                "SELECT 'redemption:' || r.public_id, w.code, w.name, 0 FROM redemptions r "
                "LEFT JOIN rewards w ON w.id = r.reward_id"
            )
        }
        groups: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        labels = {}
        for kind, points, _, _, _, reference in self._ledger():
            if kind != "redemption":
                continue
            code, name, _ = rewards[reference]
            labels[code or ""] = f"{name} ({code})" if code else "Discount (no reward)"
            groups[code or ""][0] += 1
            groups[code or ""][1] -= points
        return [(labels[c], *map(str, groups[c])) for c in sorted(groups)]

    def points(self):
        table = {d: [0] * 6 for d in self.days}
        for kind, points, _, _, day, _ in self._ledger():
            row = table[day]
            if kind == "accrual":
                row[0] += points
            elif kind == "redemption":
                row[1] -= points
            elif kind == "expiry":
                row[2] -= points
            elif kind == "adjustment":
                row[3] += points
            elif kind == "reversal":
                row[4] += points
            elif kind == "import":
                row[5] += points
        return [(d, *map(str, v)) for d, v in table.items()]

    def budgets(self):
        spent = dict(
            self.rows(
                "SELECT reward_id, SUM(points - returned_points) FROM redemptions "
                "WHERE status IN ('held', 'captured') AND reward_id IS NOT NULL GROUP BY reward_id"
            )
        )
        out = []
        for reward_id, code, name, budget, stock in self.rows(
            "SELECT id, code, name, budget_points, stock FROM rewards WHERE program_id = :p "
            "ORDER BY code"
        ):
            used = int(spent.get(reward_id) or 0)
            out.append(
                (
                    f"{name} ({code})",
                    "" if budget is None else str(budget),
                    str(used),
                    "" if budget is None else str(budget - used),
                    "" if stock is None else str(stock),
                )
            )
        return out

    def figures(self, now: datetime) -> dict[str, str]:
        outstanding = int(
            self.rows(
                "SELECT COALESCE(SUM(l.points), 0) FROM ledger_entries l "
                "JOIN accounts a ON a.id = l.account_id JOIN members m ON m.id = a.member_id "
                "WHERE m.program_id = :p"
            )[0][0]
        )
        expiring = sum(
            remaining
            for remaining, expires in self.rows(
                "SELECT l.remaining, l.expires_at FROM ledger_entries l "
                "JOIN accounts a ON a.id = l.account_id JOIN members m ON m.id = a.member_id "
                "WHERE m.program_id = :p AND l.remaining > 0 AND l.expires_at IS NOT NULL"
            )
            if now < _moment(expires) <= now + timedelta(days=30)
        )
        members = self.rows("SELECT COUNT(*) FROM members WHERE program_id = :p")[0][0]
        with_pass = self.rows(
            "SELECT COUNT(DISTINCT m.id) FROM members m JOIN cards c ON c.member_id = m.id "
            "JOIN passes p ON p.card_id = c.id WHERE m.program_id = :p AND ("
            "p.google_state = 'saved' OR p.id IN (SELECT pass_id FROM apple_registrations))"
        )[0][0]
        visits = {
            (card_id, _day(at, tz))
            for card_id, at, tz in self.rows(
                "SELECT p.card_id, u.used_at, s.timezone FROM used_codes u "
                "JOIN passes p ON p.id = u.pass_id JOIN terminals t ON t.id = u.terminal_id "
                "JOIN stores s ON s.id = t.store_id WHERE s.program_id = :p"
            )
        }
        today = now.astimezone(ZoneInfo(PROGRAM_TZ)).date()

        def active(days: int) -> tuple[int, int]:
            since = (today - timedelta(days=days - 1)).isoformat()
            recent = {(c, d) for c, d in visits if d >= since}
            return len(recent), len({c for c, _ in recent})

        ledger = self._ledger()
        issued = sum(p for k, p, *_ in ledger if k == "accrual")
        redeemed = -sum(p for k, p, *_ in ledger if k == "redemption")
        visits_90, active_90 = active(90)
        return {
            "outstanding_points": str(outstanding),
            "liability": f"{_q(outstanding * Decimal(self.program.point_value))} EUR",
            "expiring_30_days": str(expiring),
            "members": str(members),
            "members_with_pass": f"{_q(Decimal(with_pass) * 100 / members, '0.1')} %",
            "active_30": str(active(30)[1]),
            "active_90": str(active_90),
            "visits_per_active": _q(Decimal(visits_90) / active_90),
            "redemption_rate": f"{_q(Decimal(redeemed) * 100 / issued, '0.1')} %",
        }


CHARTS = (
    "enrollments",
    "passes",
    "scans",
    "scans_by_store",
    "sales",
    "sales_by_store",
    "redemptions_by_reward",
    "points",
    "budgets",
)


def _board(app, history: History, store: str | None = None) -> Dashboard:
    with runtime(app).sessions() as session:
        return build_dashboard(
            session, "demo", store, history.first, history.last, datetime.now(UTC)
        )


def _values(board: Dashboard) -> dict[str, str]:
    return {figure.key: figure.value for figure in board.figures}


def _check(app, history: History, store: str | None = None) -> Dashboard:
    board = _board(app, history, store)
    with runtime(app).sessions() as session:
        expected = Expected(session, history, store)
        for key in CHARTS:
            assert list(board.chart(key).rows) == getattr(expected, key)(), key
            lines = list(csv.reader(io.StringIO("".join(csv_lines(board.chart(key).csv_rows())))))
            assert [tuple(line) for line in lines[1:]] == list(board.chart(key).rows), key
        figures = {f.key: f.value for f in board.figures}
        for key, value in expected.figures(datetime.now(UTC)).items():
            assert figures[key] == value, key
    return board


def test_every_figure_equals_sql_over_the_raw_rows_before_during_and_after_rollups(make_app):
    app = make_app()
    history = seed_history(app)
    before = _check(app, history)
    # Hand-checked cells, so the comparison above cannot agree on a shared mistake.
    scans = {row[0]: row for row in before.chart("scans").rows}
    day = history.base.date()
    la_eve = (day - timedelta(days=1)).isoformat()
    # 02:00, 03:00 and 06:00 UTC are the evening before in LA: accepted, wrong code, replayed.
    assert scans[la_eve][1:] == ("1", "1", "0", "0", "1", "0", "0")
    # 14:00 UTC is 23:00 in Tokyo: the old copy stays on the first day.
    assert scans[day.isoformat()][4] == "1"
    # Every outcome of the seed is in the table, and each refusal exactly once.
    totals = [sum(int(row[n]) for row in before.chart("scans").rows) for n in range(1, 8)]
    assert totals == [5, 2, 1, 1, 2, 1, 2]
    points = {row[0]: row for row in before.chart("points").rows}
    assert points[day.isoformat()][6] == "500"  # the 00:00 UTC import is 09:00 in Tokyo
    sales = {row[0]: row for row in before.chart("sales").rows}
    tokyo_midnight = (day + timedelta(days=2)).isoformat()
    assert sales[tokyo_midnight][3:6] == ("1", "40", "40.00")  # 15:00 UTC = 00:00 next day
    figures = {f.key: f.value for f in before.figures}
    assert figures["outstanding_points"] == str(17 + 5 + 60 + 300)
    assert figures["liability"] == "9.55 EUR"
    assert figures["expiring_30_days"] == "300"
    assert figures["members_with_pass"] == "50.0 %"
    assert figures["active_90"] == "3"
    assert figures["visits_per_active"] == "1.67"
    assert before.chart("budgets").rows[0] == ("Free coffee (coffee)", "10000", "500", "9500", "7")

    # A rollup up to the middle of the history, then all of it: the same figures.
    rt = runtime(app)
    with rt.sessions() as session:
        refresh_rollups(session, history.base + timedelta(days=1, hours=6), batch=3)
        assert session.scalar(select(ReportDaily.metric).limit(1)) is not None
    assert _check(app, history).charts == before.charts
    with rt.sessions() as session:
        refresh_rollups(session, datetime.now(UTC) + timedelta(hours=1))
        assert refresh_rollups(session, datetime.now(UTC) + timedelta(hours=1)) == 0
    after = _board(app, history)
    assert after.charts == before.charts
    assert _values(after) == _values(before)
    assert "as of" in {f.key: f.hint for f in after.figures}["outstanding_points"]

    # Scan records are purged a day after: the figures stay, read from the rollups.
    with rt.sessions() as session:
        session.execute(delete(UsedCode))
        session.execute(delete(ScanFailure))
        session.execute(delete(ScanRefusal))
        session.commit()
    purged = _board(app, history)
    assert purged.charts == before.charts
    assert _values(purged) == _values(before)


def test_store_filter_narrows_to_the_store_and_its_day(make_app):
    app = make_app()
    history = seed_history(app)
    board = _check(app, history, history.store_a)
    assert board.store is not None and board.store.code == "LAX1"
    assert [row[0] for row in board.chart("scans_by_store").rows] == ["Los Angeles (LAX1)"]
    with runtime(app).sessions() as session:
        refresh_rollups(session, datetime.now(UTC) + timedelta(hours=1))
    assert _board(app, history, history.store_a).charts == board.charts
    tokyo = _check(app, history, history.store_b)
    assert [row[0] for row in tokyo.chart("sales_by_store").rows] == ["Tokyo (TYO1)"]
