"""The program dashboard on PostgreSQL at scale: each report query of a 90-day dashboard against
a plain `count(*)` over the ledger, in the same run.

Seeds (INSERT ... SELECT generate_series) one program with N cards (default 1,000,000: members,
accounts, cards, Apple and Google passes, some on phones) and L ledger rows (default
10,000,000) spread over a year in id order across 20 stores in five timezones, plus accruals,
redemptions, refunds, a day of scan records, enrollments and install events. Then runs the
rollup chore once from nothing (timed: what the first housekeeping after an upgrade does), and
times, interleaved R times, each part of the dashboard and the whole of it, with the rows of the
last minutes (not yet rolled up) read from the raw tables as the page does. The baseline is
`SELECT count(*) FROM ledger_entries` in the same session. With --raw, the dashboard is also
timed once with no rollups at all (every figure from the raw rows) for comparison.

Run: `python -m bench.reports --url postgresql+psycopg://postgres@127.0.0.1/bench_reports
[--cards N] [--ledger L] [--runs R] [--raw] [--reuse]` (--reuse: time the database a previous
run seeded). The database's public schema is dropped and
migrated to head first: point it at a database of its own.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from gateway.db import make_engine
from gateway.migrate import upgrade_to_head
from gateway.services.reports import dashboard as board_module
from gateway.services.reports.days import parse_range
from gateway.services.reports.rollups import refresh_rollups
from gateway.services.reports.state import ProgramState, compute_state, current_state

ZONES = ("America/Los_Angeles", "America/New_York", "Europe/Berlin", "Asia/Tokyo", "UTC")
STORES = 20

SEED = [
    """INSERT INTO programs (slug, name, organization, background_color, foreground_color,
       label_color, points_label, currency, point_value, terms_url, terms_text, support_url,
       totp_period_seconds, totp_digits, apple_pass_type_id, apple_team_id, google_issuer_id,
       google_class_suffix, points_per_currency_unit, points_validity_days,
       accrual_by_card_number, refund_returns_redeemed_points, redemptions_enabled,
       campaign_spent_points, card_lookup_requires_checkout, version, timezone)
       VALUES ('bench', 'Bench', 'Bench', '#000000', '#ffffff', '#cccccc', 'Points', 'EUR',
       0.01, '', '', '', 30, 8, 'pass.bench', 'BENCH', '3388000000000000000', 'bench', 1, 365,
       true, true, true, 0, false, 1, 'Europe/Berlin')""",
    """INSERT INTO rewards (program_id, code, name, cost_points, enabled, stock, budget_points,
       spent_points, version)
       SELECT 1, 'reward' || g, 'Reward ' || g, 100 * g, true, 1000, 1000000, 0, 1
       FROM generate_series(1, 5) g""",
    """INSERT INTO stores (program_id, code, name, address, timezone, created_at)
       SELECT 1, 'S' || g, 'Store ' || g, '', (ARRAY['America/Los_Angeles', 'America/New_York',
       'Europe/Berlin', 'Asia/Tokyo', 'UTC'])[1 + g % 5], now() FROM generate_series(1, 20) g""",
    """INSERT INTO terminals (store_id, name, key_prefix, key_hash, created_at)
       SELECT id, 'till', 'k' || id, md5(id::text) || md5('t' || id), now() FROM stores""",
    """INSERT INTO members (program_id, crm_id, email, name, locale, tier, discount_percent,
       created_at)
       SELECT 1, 'crm-' || g, 'm' || g || '@bench.example', 'Member ' || g, 'en', '', 0,
       now() - (g % 365) * interval '1 day' FROM generate_series(1, :cards) g""",
    """INSERT INTO accounts (member_id, balance, held, lifetime_points)
       SELECT id, 0, 0, 0 FROM members""",
    """INSERT INTO cards (program_id, member_id, number, status, created_at)
       SELECT 1, id, '71' || lpad(id::text, 14, '0'), 'active', created_at FROM members""",
    """INSERT INTO passes (card_id, wallet, serial, code_secret, code_counter, code_issued_at,
       update_tag, updated_at, google_object_id, google_state, created_at)
       SELECT c.id, w.wallet, w.wallet || '-' || c.id, '\\x00'::bytea, 0, now(), 1, now(),
       CASE WHEN w.wallet = 'google' THEN '3388000000000000000.o' || c.id END,
       CASE WHEN w.wallet = 'google' THEN (CASE WHEN c.id % 3 = 0 THEN 'saved'
       WHEN c.id % 7 = 0 THEN 'deleted' ELSE 'inserted' END) END, now()
       FROM cards c CROSS JOIN (VALUES ('apple'), ('google')) AS w(wallet)""",
    """INSERT INTO apple_devices (device_library_id, push_token, updated_at)
       SELECT 'device-' || g, 'token', now() FROM generate_series(1, :cards / 4) g""",
    """INSERT INTO apple_registrations (device_id, pass_id, created_at)
       SELECT d.id, p.id, now() - (p.id % 365) * interval '1 day'
       FROM apple_devices d JOIN passes p ON p.serial = 'apple-' || (d.id * 4)""",
    """INSERT INTO apple_registration_events (pass_id, device_id, event, at)
       SELECT pass_id, device_id, 'registered', created_at FROM apple_registrations""",
    """INSERT INTO google_callback_nonces (nonce, object_id, event_type, received_at)
       SELECT 'n' || id, google_object_id, CASE WHEN google_state = 'saved' THEN 'save'
       ELSE 'del' END, now() - (id % 365) * interval '1 day'
       FROM passes WHERE google_state IN ('saved', 'deleted')""",
    """INSERT INTO enrollments (id, program_id, contact_kind, contact, name, locale, consents,
       channel, code_hash, attempts, sends, status, expires_at, member_id, result, created_at)
       SELECT 'enr_' || g, 1, 'email', 'e' || g || '@bench.example', '', 'en', '{}',
       CASE WHEN g % 3 = 0 THEN 'web' ELSE 'api' END, md5(g::text), 0, 1,
       CASE WHEN g % 4 = 0 THEN 'pending' ELSE 'verified' END, now(),
       CASE WHEN g % 4 = 0 THEN NULL ELSE g END,
       CASE WHEN g % 4 = 0 THEN NULL ELSE json_build_object('digitized_existing', g % 2 = 0) END,
       now() - (g % 365) * interval '1 day' FROM generate_series(1, :cards / 5) g""",
    # The ledger: ids grow with time over a year; a POS row has a store, the others none.
    """INSERT INTO ledger_entries (account_id, kind, points, held_change, remaining,
       expires_at, actor, store_id, order_id, reference, created_at)
       SELECT 1 + (g::bigint * 7919) % :cards,
       k.kind, k.points, 0, CASE WHEN k.points > 0 AND g % 3 = 0 THEN k.points ELSE 0 END,
       CASE WHEN k.points > 0 THEN t.at + interval '365 days' END, 'bench',
       CASE WHEN k.kind IN ('accrual', 'redemption', 'reversal', 'hold', 'release')
       THEN 1 + g % 20 END, NULL,
       CASE WHEN k.kind = 'redemption' THEN 'redemption:r' || g END, t.at
       FROM generate_series(1, :ledger) g
       CROSS JOIN LATERAL (SELECT now() - interval '365 days'
                           + (g::float / :ledger) * interval '365 days' AS at) t
       CROSS JOIN LATERAL (SELECT CASE WHEN g % 10 < 5 THEN 'accrual'
                           WHEN g % 10 < 7 THEN 'redemption' WHEN g % 10 = 7 THEN 'import'
                           WHEN g % 20 = 8 THEN 'expiry' WHEN g % 20 = 18 THEN 'adjustment'
                           ELSE 'reversal' END AS kind) k0
       CROSS JOIN LATERAL (SELECT k0.kind, CASE k0.kind WHEN 'accrual' THEN 10 + g % 90
                           WHEN 'import' THEN 100 WHEN 'adjustment' THEN 5
                           WHEN 'reversal' THEN -(1 + g % 10) ELSE -(10 + g % 40) END
                           AS points) k""",
    """INSERT INTO redemptions (public_id, account_id, card_id, store_id, terminal_id,
       reward_id, points, status, returned_points, created_at)
       SELECT 'r' || substr(l.reference, 13), l.account_id, l.account_id, l.store_id,
       l.store_id, 1 + l.id % 5, -l.points, 'captured', 0, l.created_at
       FROM ledger_entries l WHERE l.kind = 'redemption'""",
    """INSERT INTO accruals (public_id, account_id, card_id, store_id, terminal_id, order_id,
       order_total, currency, points, reversed_points, created_at)
       SELECT 'a' || l.id, l.account_id, l.account_id, l.store_id, l.store_id, 'o' || l.id,
       l.points * 1.5, 'EUR', l.points, 0, l.created_at
       FROM ledger_entries l WHERE l.kind = 'accrual'""",
    """INSERT INTO refunds (public_id, store_id, terminal_id, account_id, order_id, refund_key,
       refund_total, points_reversed, points_unrecovered, points_returned, created_at)
       SELECT 'f' || l.id, l.store_id, l.store_id, l.account_id, 'o' || l.id, 'k',
       -l.points * 1.5, -l.points, 0, 0, l.created_at
       FROM ledger_entries l WHERE l.kind = 'reversal'""",
    # A day of scans (older ones are purged; their history is in the rollups).
    """INSERT INTO used_codes (pass_id, step, terminal_id, used_at)
       SELECT 1 + (g::bigint * 104729) % (:cards * 2), g, 1 + g % 20,
       now() - interval '1 day' + (g::float / (:cards / 10)) * interval '1 day'
       FROM generate_series(1, :cards / 10) g""",
    """INSERT INTO scan_failures (card_id, terminal_id, reason, at)
       SELECT CASE WHEN g % 5 = 0 THEN NULL ELSE 1 + g % :cards END, 1 + g % 20,
       CASE WHEN g % 5 = 0 THEN 'unknown_card' ELSE 'code_rejected' END,
       now() - (g::float / (:cards / 100)) * interval '1 day'
       FROM generate_series(1, :cards / 100) g""",
    """UPDATE accounts a SET balance = s.total, lifetime_points = s.total FROM (
       SELECT account_id, GREATEST(SUM(points), 0) AS total FROM ledger_entries
       GROUP BY account_id) s WHERE a.id = s.account_id""",
]


def seed(engine: Engine, cards: int, ledger: int) -> float:
    """A fresh schema with the bench history; the seconds it took."""
    start = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    upgrade_to_head(engine)
    with engine.begin() as conn:
        # The seed is consistent by construction: skip the per-row foreign-key triggers.
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        for statement in SEED:
            conn.execute(text(statement), {"cards": cards, "ledger": ledger})
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    return time.perf_counter() - start


def _timed(run: Callable[[], Any]) -> float:
    start = time.perf_counter()
    run()
    return (time.perf_counter() - start) * 1000


def _p(values: list[float], q: int) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def _parts(session: Session, now: datetime) -> dict[str, Callable[[], Any]]:
    """Each report query of the 90-day dashboard, by name (the page runs them all)."""
    end = now.date().isoformat()
    start = (now.date() - timedelta(days=89)).isoformat()
    program = board_module._program(session, "bench")
    days = parse_range(start, end, now.date())

    def board() -> board_module.Dashboard:
        return board_module.Dashboard(program, days, None, [])

    def daily() -> board_module.Daily:
        return board_module._daily_facts(session, program, days, None)

    def state() -> ProgramState:
        return current_state(session, program.id, now)

    return {
        "daily sums (rollups + tail)": daily,
        "enrollments (raw rows)": lambda: board_module._add_enrollments(session, board()),
        "program state (snapshot)": state,
        "active members, visits": lambda: board_module._add_kpis(session, board(), state(), now),
        "whole dashboard": lambda: board_module.build_dashboard(
            session, "bench", None, start, end, now
        ),
    }


def measure(engine: Engine, runs: int) -> dict[str, list[float]]:
    """Milliseconds of each part and of the count(*) baseline, interleaved, `runs` times."""
    sessions = sessionmaker(engine, expire_on_commit=False)
    times: dict[str, list[float]] = {}
    with sessions() as session:
        now = datetime.now(UTC)
        parts = _parts(session, now)
        parts["baseline: count(*) over the ledger"] = lambda: session.scalar(
            text("SELECT count(*) FROM ledger_entries")
        )
        for _ in range(runs):
            for name, run in parts.items():
                times.setdefault(name, []).append(_timed(run))
                session.rollback()
    return times


def main() -> None:
    """Seed, roll up, time, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--url",
        default=os.environ.get(
            "BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/bench_reports"
        ),
    )
    parser.add_argument("--cards", type=int, default=1_000_000)
    parser.add_argument("--ledger", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--raw", action="store_true", help="also time once without rollups")
    parser.add_argument(
        "--reuse", action="store_true", help="keep the database a previous run seeded"
    )
    args = parser.parse_args()
    engine = make_engine(args.url)
    if engine.dialect.name != "postgresql":
        raise SystemExit("bench.reports needs PostgreSQL")
    if not args.reuse:
        seconds = seed(engine, args.cards, args.ledger)
        print(f"seeded {args.cards:,} cards and {args.ledger:,} ledger rows in {seconds:.0f} s")
    sessions = sessionmaker(engine, expire_on_commit=False)
    raw: float | None = None
    if args.raw:
        with sessions() as session:
            now = datetime.now(UTC)
            start = (now.date() - timedelta(days=89)).isoformat()
            raw = _timed(
                lambda: board_module.build_dashboard(
                    session, "bench", None, start, now.date().isoformat(), now
                )
            )
    with sessions() as session:
        begun = time.perf_counter()
        # Everything older than the rollup lag; the newest minutes stay for the page's tail.
        refresh_rollups(session, datetime.now(UTC))
        what = "catching up" if args.reuse else "the whole history"
        print(f"rollup ({what}) in {time.perf_counter() - begun:.0f} s")
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE report_daily"))
        conn.execute(text("ANALYZE report_visits"))
    times = measure(engine, args.runs)
    baseline = _p(times["baseline: count(*) over the ledger"], 95)
    print(f"\n90-day dashboard, {args.runs} runs each, interleaved (ms)")
    print(f"{'query':<38} {'p50':>9} {'p95':>9} {'p95 / count(*)':>15}")
    for name, values in times.items():
        p95 = _p(values, 95)
        print(f"{name:<38} {_p(values, 50):>9.1f} {p95:>9.1f} {p95 / baseline:>15.2f}")
    with sessions() as session:
        program_id = board_module._program(session, "bench").id
        live = [
            _timed(lambda: compute_state(session, program_id, datetime.now(UTC))) for _ in range(3)
        ]
    print(
        f"\nprogram state from the raw rows (the chore's snapshot), 3 runs: "
        f"p50 {_p(live, 50):.0f} ms"
    )
    if raw is not None:
        print(f"\nwhole dashboard with no rollups (raw rows only), once: {raw:.0f} ms")


if __name__ == "__main__":
    main()
