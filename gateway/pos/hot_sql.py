"""The POS hot paths' statements on PostgreSQL, run straight through the psycopg connection.

SQLAlchemy's per-statement work (cache key, compiled-cache lookup, parameter processing, the
result's metadata and row processing over 40-odd columns) costs more Python time than the
database spends executing these indexed statements. So on PostgreSQL the hot statements are
rendered to SQL text once per process and executed as server-side prepared statements, fetching
plain tuples: on the session's own DBAPI connection (same transaction), or, for identify, on a
connection taken from the same pool with no Session at all (`pooled`). SQLite keeps the portable
SQLAlchemy path.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection, Engine

_DIALECT = postgresql.psycopg.dialect()  # type: ignore[no-untyped-call]
_TEXTS: dict[int, str] = {}
_NAMED = re.compile(r"(?<![:\w]):(\w+)")


def render(statement: Any) -> str:
    """A Core statement as PostgreSQL text with %(name)s placeholders (rendered once)."""
    key = id(statement)
    cached = _TEXTS.get(key)
    if cached is None:
        cached = str(statement.compile(dialect=_DIALECT))
        _TEXTS[key] = cached
    return cached


def named(sql: str) -> str:
    """SQLAlchemy-style `:name` placeholders as psycopg's `%(name)s` (`::casts` untouched)."""
    return _NAMED.sub(r"%(\1)s", sql)


def driver(conn: Connection) -> Any:
    """The psycopg connection under a SQLAlchemy connection (same transaction)."""
    return conn.connection.driver_connection


@contextmanager
def pooled(engine: Engine, *, autocommit: bool = False) -> Iterator[Any]:
    """A psycopg connection straight from the engine's pool, without a Session around it.

    A connection that was lost is dropped, and so are the pool's idle ones, which went down with
    it as a rule (as SQLAlchemy does on a disconnect it sees itself).
    """
    proxied = engine.raw_connection()
    raw: Any = proxied.driver_connection
    try:
        raw.autocommit = autocommit
        yield raw
    except psycopg.OperationalError as error:
        if raw.broken or raw.closed:
            proxied.invalidate(error)
            engine.pool.dispose()
        raise
    finally:
        if proxied.is_valid:
            if autocommit and not raw.closed:
                raw.autocommit = False
            proxied.close()


def fetch_raw(raw: Any, sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Run `sql` as a prepared statement on a psycopg connection; every row as a tuple."""
    with raw.cursor() as cursor:
        cursor.execute(sql, params, prepare=True)
        return cursor.fetchall()  # type: ignore[no-any-return]


def fetch(conn: Connection, sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Run `sql` as a prepared statement on `conn`'s psycopg connection; every row as a tuple."""
    return fetch_raw(driver(conn), sql, params)


def fetch_first_in_transaction(
    conn: Connection, sql: str, params: dict[str, Any]
) -> list[tuple[Any, ...]]:
    """`fetch` as the first statement of a transaction: BEGIN and the statement are pipelined
    (one round trip instead of two)."""
    raw = driver(conn)
    with raw.cursor() as cursor:
        with raw.pipeline():
            cursor.execute(sql, params, prepare=True)
        return cursor.fetchall()  # type: ignore[no-any-return]


def fetch_and_commit(conn: Connection, sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    """`fetch`, then COMMIT in the same round trip (pipelined); the rows once committed."""
    raw = driver(conn)
    with raw.cursor() as cursor:
        with raw.pipeline():
            cursor.execute(sql, params, prepare=True)
            raw.commit()
        return cursor.fetchall()  # type: ignore[no-any-return]
