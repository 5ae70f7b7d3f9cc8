"""Member search on PostgreSQL at scale: each search kind against a primary-key read.

Seeds N members (default 1,000,000) with accounts and cards into one program with
INSERT ... SELECT generate_series (seconds, not hours), ANALYZEs, prints the EXPLAIN of each
search kind (e-mail, phone, card number, legacy number), then times random lookups of every kind
interleaved with the baseline: a primary-key SELECT of a member through the same session. The
figures are p50/p95 in milliseconds and the ratio of each p50 to the baseline's p50, all from
the same run, so a slower or busier machine moves both sides.

Run: `python -m bench.member_search --url postgresql+psycopg://postgres@127.0.0.1/bench
[--members N] [--lookups L] [--reseed]`. The database is migrated to head; the bench program
(slug `bench-members`) is seeded once per N and reused by later runs.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, delete, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from gateway.db import make_engine
from gateway.migrate import upgrade_to_head
from gateway.models.card import Card
from gateway.models.member import Account, Member
from gateway.models.program import Program
from gateway.services.operate.members import search_members, search_statements

SLUG = "bench-members"
# One card in LEGACY_EVERY carries a CRM legacy number (most CRMs' numbers fit the rules).
LEGACY_EVERY = 10
KINDS = ("email", "phone", "card_number", "legacy_number")


def email_of(n: int) -> str:
    """The e-mail of the n-th seeded member."""
    return f"member{n}@bench.example"


def phone_of(n: int) -> str:
    """The phone of the n-th seeded member (E.164)."""
    return f"+3460{n:08d}"


def number_of(n: int) -> str:
    """The card number of the n-th seeded member."""
    return f"71{n:014d}"


def legacy_of(n: int) -> str:
    """The legacy number of the n-th seeded member (only every LEGACY_EVERY-th has one)."""
    return f"LEG-{n}"


def query_of(kind: str, n: int) -> str:
    """What support types to find the n-th member by `kind`."""
    return {
        "email": email_of,
        "phone": phone_of,
        "card_number": number_of,
        "legacy_number": legacy_of,
    }[kind](n)


def _program(session: Session) -> Program:
    program = session.scalar(select(Program).where(Program.slug == SLUG))
    if program is None:
        program = Program(
            slug=SLUG,
            name="Bench members",
            organization="Bench",
            apple_pass_type_id="pass.example.bench",  # noqa: S106 (an id, not a secret)
            apple_team_id="BENCH00000",
            google_issuer_id="3388000000000000000",
            google_class_suffix="bench_members",
        )
        session.add(program)
        session.commit()
    return program


def seed(engine: Engine, members: int, *, reseed: bool = False) -> Program:
    """The bench program with `members` members, accounts and cards (seeded when needed)."""
    sessions = sessionmaker(engine, expire_on_commit=False)
    with sessions() as session:
        program = _program(session)
        count = session.scalar(
            select(func.count()).select_from(Member).where(Member.program_id == program.id)
        )
        if count == members and not reseed:
            return program
        member_ids = select(Member.id).where(Member.program_id == program.id)
        session.execute(delete(Card).where(Card.program_id == program.id))
        session.execute(delete(Account).where(Account.member_id.in_(member_ids)))
        session.execute(delete(Member).where(Member.program_id == program.id))
        params = {"program": program.id, "n": members, "every": LEGACY_EVERY}
        session.execute(
            text(
                "INSERT INTO members (program_id, crm_id, email, phone, name, locale, tier, "
                "discount_percent, created_at) "
                "SELECT :program, 'bench-' || g, 'member' || g || '@bench.example', "
                "'+3460' || lpad(g::text, 8, '0'), 'Member ' || g, 'en', 'Bronze', 0, now() "
                "FROM generate_series(1, :n) AS g"
            ),
            params,
        )
        session.execute(
            text(
                "INSERT INTO accounts (member_id, balance, held, lifetime_points) "
                "SELECT id, 100, 0, 100 FROM members WHERE program_id = :program"
            ),
            params,
        )
        session.execute(
            text(
                "INSERT INTO cards (program_id, member_id, number, legacy_number, status, "
                "created_at) "
                "SELECT :program, m.id, '71' || lpad(s.g::text, 14, '0'), "
                "CASE WHEN s.g % :every = 0 THEN 'LEG-' || s.g END, 'active', now() "
                "FROM members m CROSS JOIN LATERAL "
                "(SELECT substr(m.crm_id, 7)::bigint AS g) s WHERE m.program_id = :program"
            ),
            params,
        )
        session.commit()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in ("members", "accounts", "cards"):
            conn.execute(text(f"ANALYZE {table}"))
    return program


def explain(session: Session, program_id: int, query: str) -> dict[str, str]:
    """The EXPLAIN text of each statement the search runs for `query`, by kind."""
    dialect = session.get_bind().dialect
    plans = {}
    for kind, statement in search_statements(program_id, query):
        sql = str(statement.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
        rows = session.execute(text("EXPLAIN " + sql)).scalars().all()
        plans[kind] = "\n".join(str(row) for row in rows)
    session.commit()
    return plans


def _timed(run: Callable[[], Any]) -> float:
    start = time.perf_counter()
    run()
    return (time.perf_counter() - start) * 1000


def _p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def measure(
    engine: Engine, program: Program, members: int, lookups: int, seed_value: int = 7
) -> dict[str, list[float]]:
    """Milliseconds per lookup of each kind and of the baseline, interleaved at random."""
    rng = random.Random(seed_value)
    sessions = sessionmaker(engine, expire_on_commit=False)
    times: dict[str, list[float]] = {kind: [] for kind in ("baseline", *KINDS)}
    legacy_max = members // LEGACY_EVERY
    with sessions() as session:
        first_id = session.scalar(
            select(func.min(Member.id)).where(Member.program_id == program.id)
        )
        assert first_id is not None
        for _ in range(lookups):
            order = ["baseline", *KINDS]
            rng.shuffle(order)
            for kind in order:
                n = rng.randint(1, members)
                if kind == "baseline":
                    member_id = first_id + n - 1

                    def read(member_id: int = member_id) -> Any:
                        row = session.execute(
                            select(Member.id, Member.name).where(Member.id == member_id)
                        ).first()
                        session.commit()
                        return row

                    times[kind].append(_timed(read))
                    continue
                if kind == "legacy_number":
                    n = rng.randint(1, max(legacy_max, 1)) * LEGACY_EVERY
                query = query_of(kind, n)

                def search(query: str = query) -> Any:
                    return search_members(session, program, query)

                times[kind].append(_timed(search))
    return times


def main() -> None:
    """Seed, EXPLAIN, time, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("BENCH_DATABASE_URL", ""))
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--lookups", type=int, default=2000, help="per kind")
    parser.add_argument("--reseed", action="store_true")
    args = parser.parse_args()
    if not args.url.startswith("postgresql"):
        parser.error("--url (or BENCH_DATABASE_URL) must be a PostgreSQL URL")
    engine = make_engine(args.url)
    upgrade_to_head(engine)
    started = time.perf_counter()
    program = seed(engine, args.members, reseed=args.reseed)
    print(f"{args.members:,} members ready in {time.perf_counter() - started:.1f} s")
    with sessionmaker(engine)() as session:
        sample = args.members // 2 // LEGACY_EVERY * LEGACY_EVERY or LEGACY_EVERY
        for kind in KINDS:
            plans = explain(session, program.id, query_of(kind, sample))
            print(f"\nEXPLAIN of a search by {kind} ({len(plans)} statement(s)):")
            for looked_up, plan in plans.items():
                print(f"  [{looked_up}]")
                for line in plan.splitlines():
                    print(f"    {line}")
    times = measure(engine, program, args.members, args.lookups)
    base = statistics.median(times["baseline"])
    print(f"\n{args.lookups} lookups per kind, interleaved; ms per lookup (ratio: p50 / baseline)")
    print(f"{'kind':<16}{'p50':>9}{'p95':>9}{'ratio':>8}")
    for kind, values in times.items():
        p50 = statistics.median(values)
        print(f"{kind:<16}{p50:9.3f}{_p(values, 95):9.3f}{p50 / base:8.2f}")
    print(
        "\nbaseline: a primary-key SELECT of a member through the same ORM session; a search by "
        "card number runs 2 indexed statements (card and legacy number), the others 1."
    )
    engine.dispose()


if __name__ == "__main__":
    main()
