"""Date ranges of the reports and the local day of a timestamp, in SQL on either database."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import SQLColumnExpression, String, case, func, literal
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from gateway.services.operate.field_errors import Collector

MAX_DAYS = 731  # two years, a leap day included
DEFAULT_DAYS = 30
_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")

Col = SQLColumnExpression[Any]


@lru_cache(maxsize=512)
def zone(name: str) -> ZoneInfo:
    """The IANA zone `name`; UTC for a name this machine does not know."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def known_zone(name: str) -> bool:
    """True when `name` is an IANA zone this machine knows."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def local_today(tz: str, now: datetime) -> date:
    """Today in the zone `tz`."""
    return now.astimezone(zone(tz)).date()


def local_day_text(moment: datetime, tz: str) -> str:
    """The day (YYYY-MM-DD) `moment` falls on in the zone `tz`."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(zone(tz)).date().isoformat()


@dataclass(frozen=True, slots=True)
class DateRange:
    """Inclusive local days from `start` to `end`."""

    start: date
    end: date

    @property
    def first(self) -> str:
        """The first day as YYYY-MM-DD."""
        return self.start.isoformat()

    @property
    def last(self) -> str:
        """The last day as YYYY-MM-DD."""
        return self.end.isoformat()

    def days(self) -> Iterator[str]:
        """Every day of the range, oldest first, as YYYY-MM-DD."""
        day = self.start
        while day <= self.end:
            yield day.isoformat()
            day += timedelta(days=1)

    def utc_bounds(self, tz: str, margin: timedelta = timedelta(0)) -> tuple[datetime, datetime]:
        """[from, to) in UTC covering the range's days in `tz`, widened by `margin`."""
        local = zone(tz)
        start = datetime.combine(self.start, datetime.min.time(), local).astimezone(UTC)
        end = datetime.combine(self.end + timedelta(days=1), datetime.min.time(), local)
        return start - margin, end.astimezone(UTC) + margin


def _parse_day(text: str) -> date | None:
    if not _ISO_DAY.match(text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def parse_range(start_text: str | None, end_text: str | None, today: date) -> DateRange:
    """The range the operator typed (blank: the last 30 days up to `today`).

    Raises FieldErrors (422) for a bad date, a start after the end, or more than two years.
    """
    errors = Collector()
    start_text, end_text = (start_text or "").strip(), (end_text or "").strip()
    end = _parse_day(end_text) if end_text else today
    if end is None:
        errors.add("to", "Enter the end date as YYYY-MM-DD, for example 2026-03-31.")
    start = _parse_day(start_text) if start_text else None
    if start_text and start is None:
        errors.add("from", "Enter the start date as YYYY-MM-DD, for example 2026-03-01.")
    errors.raise_if_any()
    assert end is not None
    if start is None:
        start = end - timedelta(days=DEFAULT_DAYS - 1)
    if start > end:
        errors.add("from", "The start date is after the end date: swap them.")
    elif (end - start).days + 1 > MAX_DAYS:
        errors.add("from", "Choose at most two years (731 days) at a time.")
    errors.raise_if_any()
    return DateRange(start, end)


def _sqlite_local_day(value: str | None, tz: str | None) -> str | None:
    if value is None:
        return None
    moment = datetime.fromisoformat(value)
    return local_day_text(moment, tz or "UTC")


def prepare(session: Session) -> None:
    """On SQLite, register the local-day function on this session's connection."""
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        return
    raw = connection.connection.dbapi_connection
    assert raw is not None
    raw.create_function("gw_local_day", 2, _sqlite_local_day, deterministic=True)


def safe_zone(tz: Col, names: set[str]) -> ColumnElement[str]:
    """`tz` when it is one of the known `names`, else 'UTC' (PostgreSQL refuses unknown ones)."""
    known = sorted(name for name in names if known_zone(name))
    if not known:
        return literal("UTC", String)
    return case((tz.in_(known), tz), else_=literal("UTC", String))


def local_day(session: Session, moment: Col, tz: Col) -> ColumnElement[str]:
    """SQL for the day (YYYY-MM-DD text) `moment` falls on in the zone `tz`."""
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone(tz, moment), "YYYY-MM-DD")
    return func.gw_local_day(moment, tz)
