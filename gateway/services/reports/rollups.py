"""The rollup chore: add each source's new rows to report_daily and report_visits, in id order.

Rows are taken up to the newest one older than `LAG` (so a transaction that took its id a
moment ago and commits late is not skipped), in batches; each batch moves its watermark with a
conditional UPDATE in the same transaction as the sums it adds, so two workers running the
chore at once never add a batch twice. Scan records are purged a day after they are written:
housekeeping runs this first.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from gateway.models.report import ReportDaily, ReportVisit, ReportWatermark
from gateway.services.reports.facts import SOURCES, Facts, Scope, Source, visit_facts, zone_names
from gateway.services.reports.state import refresh_snapshots

LAG = timedelta(minutes=2)
BATCH_IDS = 250_000


def watermarks(session: Session) -> dict[str, int]:
    """The last id of each source already in the rollups (0 when none is)."""
    marks = {
        str(s): int(i)
        for s, i in session.execute(select(ReportWatermark.source, ReportWatermark.last_id))
    }
    return {source.name: int(marks.get(source.name, 0)) for source in SOURCES}


def _insert(session: Session, model: type[Any]) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(model)
    return sqlite.insert(model)


def add_facts(session: Session, facts: Facts) -> None:
    """Add `facts` to report_daily (a missing row is created)."""
    if not facts:
        return
    statement = _insert(session, ReportDaily)
    statement = statement.on_conflict_do_update(
        index_elements=["program_id", "day", "store_id", "metric", "dim"],
        set_={
            "count": ReportDaily.count + statement.excluded.count,
            "points": ReportDaily.points + statement.excluded.points,
            "amount": ReportDaily.amount + statement.excluded.amount,
        },
    )
    rows = [
        {
            "program_id": program_id,
            "day": day,
            "store_id": store_id,
            "metric": metric,
            "dim": dim,
            "count": sums.count,
            "points": sums.points,
            "amount": sums.amount,
        }
        for (program_id, day, store_id, metric, dim), sums in facts.items()
    ]
    session.execute(statement, rows)


def _add_visits(session: Session, visits: set[tuple[int, str, int]]) -> None:
    if not visits:
        return
    statement = _insert(session, ReportVisit).on_conflict_do_nothing()
    session.execute(
        statement, [{"program_id": p, "day": d, "card_id": c} for p, d, c in sorted(visits)]
    )


def _claim(session: Session, source: str, after: int, upto: int, now: datetime) -> bool:
    """Move the watermark from `after` to `upto`; False when another worker moved it first."""
    moved = session.execute(
        update(ReportWatermark)
        .where(ReportWatermark.source == source, ReportWatermark.last_id == after)
        .values(last_id=upto, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(moved, "rowcount", 0))


def _ensure_watermarks(session: Session, now: datetime) -> None:
    known = set(session.scalars(select(ReportWatermark.source)))
    missing = [source.name for source in SOURCES if source.name not in known]
    if missing:
        statement = _insert(session, ReportWatermark).on_conflict_do_nothing()
        session.execute(
            statement, [{"source": name, "last_id": 0, "updated_at": now} for name in missing]
        )
        session.commit()


def _newest_settled(session: Session, source: Source, after: int, now: datetime) -> int | None:
    newest = session.scalar(
        select(func.max(source.id_column)).where(
            source.id_column > after, source.time_column < now - LAG
        )
    )
    return int(newest) if newest is not None else None


def refresh_rollups(session: Session, now: datetime, batch: int = BATCH_IDS) -> int:
    """Add every settled new row of every source to the rollups and retake each program's
    snapshot; how many ids the watermarks moved over."""
    _ensure_watermarks(session, now)
    zones = zone_names(session)
    added = 0
    for source in SOURCES:
        after = watermarks(session)[source.name]
        newest = _newest_settled(session, source, after, now)
        session.rollback()
        while newest is not None and after < newest:
            upto = min(after + batch, newest)
            if not _claim(session, source.name, after, upto, now):
                session.rollback()
                break
            scope = Scope(after, upto)
            add_facts(session, source.facts(session, scope, zones))
            if source.name == "used_codes":
                _add_visits(session, visit_facts(session, scope, zones))
            session.commit()
            added += upto - after
            after = upto
    refresh_snapshots(session, now)
    return added
