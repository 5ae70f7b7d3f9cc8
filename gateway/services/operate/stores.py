"""Stores and their tills: create and edit stores; create, revoke and unlock tills; list them.

The console, the admin API and the CLI all call these functions. Store input comes as a mapping
of raw values (form strings, JSON numbers or CLI options); every invalid field is reported at
once as FieldErrors, and nothing is written unless the whole change is valid. A till's key is
returned once, at creation; only its SHA-256 is kept.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import segno
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gateway.domain.errors import not_found
from gateway.models.base import utcnow
from gateway.models.pos import Store, Terminal
from gateway.models.program import Program
from gateway.pos.terminals import PREFIX_LENGTH, hash_key, new_key
from gateway.services.operate.audit_trail import changed_fields, record_change
from gateway.services.operate.field_errors import Collector, FieldErrors

CODE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]*$")
CODE_LENGTH = 32
NAME_LENGTH = 120
ADDRESS_LENGTH = 300
TIMEZONE_LENGTH = 64
# Every field an operator sets, in form order.
FIELDS = ("code", "name", "program", "address", "timezone", "latitude", "longitude")
# Fixed once created: tills, scripts and reports name the store by its code, and its program
# decides which cards its tills accept (past orders stay in the program they were made in).
FIXED = ("code", "program")
EDITABLE = tuple(name for name in FIELDS if name not in FIXED)


@dataclass(frozen=True)
class StoreValues:
    """A store's settings, checked."""

    name: str
    address: str
    timezone: str
    latitude: float | None
    longitude: float | None

    def as_dict(self) -> dict[str, Any]:
        """Field name -> value (for the audit trail and the ORM row)."""
        return {name: getattr(self, name) for name in EDITABLE}


@dataclass(frozen=True)
class StoreRow:
    """A store as lists show it: the row, its program's slug and name, how many live tills."""

    store: Store
    program_slug: str
    program_name: str
    live_tills: int


@dataclass(frozen=True)
class NewTill:
    """A created till: the row and its key, which is never shown again."""

    terminal: Terminal
    key: str


@dataclass(frozen=True)
class TillRow:
    """A till with its store's code (lists of every store's tills)."""

    terminal: Terminal
    store_code: str


@dataclass(frozen=True)
class TillUnlock:
    """What an unlock did: the till, and the lock end it lifted (None: was not locked)."""

    terminal: Terminal
    lifted_lock: datetime | None


# ---- stores -----------------------------------------------------------------------------------


def find_store(session: Session, code: str) -> Store:
    """The store with this code; 404 `not_found` otherwise."""
    store = session.scalar(select(Store).where(Store.code == code))
    if store is None:
        raise not_found(f"store {code!r}")
    return store


def list_stores(session: Session) -> list[StoreRow]:
    """Every store with its program and number of live tills, by code."""
    live = (
        select(Terminal.store_id, func.count(Terminal.id).label("live"))
        .where(Terminal.revoked_at.is_(None))
        .group_by(Terminal.store_id)
        .subquery()
    )
    rows = session.execute(
        select(Store, Program.slug, Program.name, func.coalesce(live.c.live, 0))
        .join(Program, Program.id == Store.program_id)
        .outerjoin(live, live.c.store_id == Store.id)
        .order_by(Store.code)
    ).all()
    return [StoreRow(row[0], row[1], row[2], int(row[3])) for row in rows]


def store_row(session: Session, code: str) -> StoreRow:
    """One store as lists show it; 404 `not_found` otherwise."""
    store = find_store(session, code)
    program = session.get(Program, store.program_id)
    assert program is not None  # a foreign key
    live = session.scalar(
        select(func.count(Terminal.id)).where(
            Terminal.store_id == store.id, Terminal.revoked_at.is_(None)
        )
    )
    return StoreRow(store, program.slug, program.name, int(live or 0))


def program_choices(session: Session) -> list[tuple[str, str]]:
    """(slug, name) of every program, for the store form."""
    rows = session.execute(select(Program.slug, Program.name).order_by(Program.name)).all()
    return [(row[0], row[1]) for row in rows]


def store_view(row: StoreRow) -> dict[str, Any]:
    """A store as the admin API and the CLI show it (JSON-safe)."""
    store = row.store
    return {
        "code": store.code,
        "name": store.name,
        "program": row.program_slug,
        "address": store.address,
        "timezone": store.timezone,
        "latitude": store.latitude,
        "longitude": store.longitude,
        "live_tills": row.live_tills,
        "created_at": store.created_at.isoformat(),
    }


def create_store(session: Session, actor: str, data: Mapping[str, Any]) -> Store:
    """A new store of a program. Commits.

    `data` holds `code` and `program` (a slug), and optionally `name` (default: the code),
    `address`, `timezone` (IANA name, default UTC) and `latitude`/`longitude` (both or neither).
    """
    problems = Collector()
    _unknown_fields(data, problems)
    code = _check_code(session, data.get("code"), problems)
    program = _check_program(session, data.get("program"), problems)
    values = _check_values(data, problems, default_name=code or "")
    problems.raise_if_any()
    assert program is not None and values is not None
    store = Store(program_id=program.id, code=code, **values.as_dict())
    session.add(store)
    try:
        session.flush()
    except IntegrityError:
        # Another operator created the same code between the check and this insert.
        session.rollback()
        raise FieldErrors({"code": _code_taken(code)}) from None
    record_change(
        session,
        actor,
        "store.created",
        f"store:{code}",
        after={"code": code, "program": program.slug, **values.as_dict()},
        program=program.slug,
    )
    session.commit()
    return store


def edit_store(session: Session, actor: str, code: str, changes: Mapping[str, Any]) -> Store:
    """Change some of a store's settings; fields absent from `changes` keep their value. The
    code and the program are fixed (FieldErrors when `changes` tries to change them). Commits."""
    store = find_store(session, code)
    program = session.get(Program, store.program_id)
    assert program is not None  # a foreign key
    problems = Collector()
    _unknown_fields(changes, problems)
    if "code" in changes and _text(changes["code"]) != store.code:
        problems.add("code", "The code cannot change: tills and scripts use it.")
    if "program" in changes and _text(changes["program"]) != program.slug:
        problems.add(
            "program",
            "A store stays in its program. Create a new store for the other program.",
        )
    before = _current(store)
    merged = {**before, **{key: value for key, value in changes.items() if key in EDITABLE}}
    values = _check_values(merged, problems, default_name=store.code)
    problems.raise_if_any()
    assert values is not None
    old, new = changed_fields(before, values.as_dict())
    for name, value in new.items():
        setattr(store, name, value)
    if new:
        record_change(
            session,
            actor,
            "store.edited",
            f"store:{store.code}",
            before=old,
            after=new,
            program=program.slug,
        )
    session.commit()
    return store


def _current(store: Store) -> dict[str, Any]:
    return {name: getattr(store, name) for name in EDITABLE}


def _unknown_fields(data: Mapping[str, Any], problems: Collector) -> None:
    for name in sorted(set(data) - set(FIELDS)):
        problems.add(name, "A store has no such field.")


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _code_taken(code: str) -> str:
    return f"A store with the code {code} already exists. Choose another code."


def _check_code(session: Session, raw: Any, problems: Collector) -> str:
    code = _text(raw)
    if not code:
        problems.add("code", "Give the store a short code, for example BERLIN-1.")
    elif len(code) > CODE_LENGTH or not CODE_PATTERN.match(code):
        problems.add(
            "code",
            f"Use up to {CODE_LENGTH} letters, digits and dashes, starting with a letter or digit.",
        )
    elif session.scalar(select(Store.id).where(Store.code == code)) is not None:
        problems.add("code", _code_taken(code))
    return code


def _check_program(session: Session, raw: Any, problems: Collector) -> Program | None:
    slug = _text(raw)
    if not slug:
        problems.add("program", "Choose the program the store belongs to.")
        return None
    program = session.scalar(select(Program).where(Program.slug == slug))
    if program is None:
        problems.add("program", f"There is no program {slug}.")
    return program


def _check_values(
    data: Mapping[str, Any], problems: Collector, *, default_name: str
) -> StoreValues | None:
    """The editable fields of `data`, checked (None when any is wrong)."""
    name = _text(data.get("name")) or default_name
    if len(name) > NAME_LENGTH:
        problems.add("name", f"Use at most {NAME_LENGTH} characters for the name.")
    address = _text(data.get("address"))
    if len(address) > ADDRESS_LENGTH:
        problems.add("address", f"Use at most {ADDRESS_LENGTH} characters for the address.")
    timezone = _check_timezone(data.get("timezone"), problems)
    latitude = _coordinate(data.get("latitude"), "latitude", 90, problems)
    longitude = _coordinate(data.get("longitude"), "longitude", 180, problems)
    if (latitude is None) != (longitude is None) and not {"latitude", "longitude"} & set(
        problems.fields
    ):
        missing = "longitude" if longitude is None else "latitude"
        problems.add(missing, "Give both latitude and longitude, or neither.")
    if problems.fields:
        return None
    return StoreValues(name, address, timezone, latitude, longitude)


def _check_timezone(raw: Any, problems: Collector) -> str:
    name = _text(raw) or "UTC"
    message = "Choose a time zone by its name, for example Europe/Berlin or America/New_York."
    if len(name) > TIMEZONE_LENGTH:
        problems.add("timezone", message)
        return name
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        problems.add("timezone", message)
    return name


def _coordinate(raw: Any, field: str, limit: int, problems: Collector) -> float | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    message = f"The {field} is a number from -{limit} to {limit}, for example 52.52."
    if isinstance(raw, bool):
        problems.add(field, message)
        return None
    try:
        value = float(raw.strip().replace(",", ".") if isinstance(raw, str) else raw)
    except (TypeError, ValueError, OverflowError):
        problems.add(field, message)
        return None
    if not math.isfinite(value) or not -limit <= value <= limit:
        problems.add(field, message)
        return None
    return value


# ---- tills ------------------------------------------------------------------------------------


def list_tills(session: Session, store_code: str | None = None) -> list[TillRow]:
    """The tills of one store (404 for an unknown store), or of every store; oldest first."""
    query = select(Terminal, Store.code).join(Store, Store.id == Terminal.store_id)
    if store_code is not None:
        query = query.where(Store.id == find_store(session, store_code).id)
    rows = session.execute(query.order_by(Terminal.id)).all()
    return [TillRow(row[0], row[1]) for row in rows]


def find_till(session: Session, till_id: int) -> TillRow:
    """The till with this id and its store's code; 404 `not_found` otherwise."""
    row = session.execute(
        select(Terminal, Store.code)
        .join(Store, Store.id == Terminal.store_id)
        .where(Terminal.id == till_id)
    ).first()
    if row is None:
        raise not_found(f"till {till_id}")
    return TillRow(row[0], row[1])


def till_state(terminal: Terminal, now: datetime) -> str:
    """`revoked`, `locked` (too many wrong codes, for now) or `active`."""
    if terminal.revoked_at is not None:
        return "revoked"
    if terminal.locked_until is not None and terminal.locked_until > now:
        return "locked"
    return "active"


def till_view(row: TillRow, now: datetime) -> dict[str, Any]:
    """A till as the admin API and the CLI show it (JSON-safe; never the key)."""
    terminal = row.terminal
    state = till_state(terminal, now)

    def when(value: datetime | None) -> str | None:
        return value.isoformat() if value is not None else None

    return {
        "id": terminal.id,
        "store": row.store_code,
        "name": terminal.name,
        "key_prefix": terminal.key_prefix,
        "state": state,
        "locked_until": when(terminal.locked_until) if state == "locked" else None,
        "last_seen_at": when(terminal.last_seen_at),
        "created_at": when(terminal.created_at),
        "revoked_at": when(terminal.revoked_at),
    }


def create_till(session: Session, actor: str, store_code: str, name: Any = "") -> NewTill:
    """A new till of a store and its key; the key is returned once and only its hash kept.
    Commits."""
    store = find_store(session, store_code)
    till_name = _text(name)
    if len(till_name) > NAME_LENGTH:
        raise FieldErrors({"name": f"Use at most {NAME_LENGTH} characters for the till's name."})
    key = new_key()
    terminal = Terminal(
        store_id=store.id, name=till_name, key_prefix=key[:PREFIX_LENGTH], key_hash=hash_key(key)
    )
    session.add(terminal)
    session.flush()
    record_change(
        session,
        actor,
        "terminal.created",
        f"terminal:{terminal.id}",
        after={"store": store.code, "name": till_name},
        store=store.code,
    )
    session.commit()
    return NewTill(terminal, key)


def cashier_link(public_base_url: str, key: str) -> str:
    """The cashier page with the till's key in the URL fragment: browsers never send a fragment
    to a server (nor in a Referer), so the key stays out of every request line and log. The page
    keeps the key and removes it from the address bar."""
    return f"{public_base_url.rstrip('/')}/cashier#key={quote(key, safe='')}"


def cashier_qr(link: str) -> str:
    """The cashier link as a QR code, an SVG data URI (the console's pages allow data: images)."""
    return str(segno.make(link, error="m").svg_data_uri(scale=5, border=2))


def revoke_till(session: Session, actor: str, till_id: int) -> Terminal:
    """Revoke a till: its key stops working at once. Revoking a revoked till changes nothing.
    Commits."""
    terminal = session.get(Terminal, till_id, with_for_update={"key_share": True})
    if terminal is None:
        raise not_found(f"till {till_id}")
    if terminal.revoked_at is None:
        terminal.revoked_at = utcnow()
        record_change(
            session,
            actor,
            "terminal.revoked",
            f"terminal:{terminal.id}",
            before={"revoked": False},
            after={"revoked": True},
        )
    session.commit()
    return terminal


def unlock_till(session: Session, actor: str, till_id: int, now: datetime) -> TillUnlock:
    """Lift a till's scan lock (too many wrong codes) before it ends. Commits.

    The lock end is moved to `now` rather than cleared: the scan lockout counts only failures
    after the previous lock end, so the wrong codes that caused the lock cannot re-lock it."""
    terminal = session.get(Terminal, till_id, with_for_update={"key_share": True})
    if terminal is None:
        raise not_found(f"till {till_id}")
    until = terminal.locked_until
    if until is None or until <= now:
        session.commit()
        return TillUnlock(terminal, None)
    terminal.locked_until = now
    record_change(
        session,
        actor,
        "terminal.unlocked",
        f"terminal:{terminal.id}",
        before={"locked_until": until},
        after={"locked_until": None},
        was_locked_until=until,
    )
    session.commit()
    return TillUnlock(terminal, until)
