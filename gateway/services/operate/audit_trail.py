"""The audit row of an operator action: who, what, when, and the state before and after."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from gateway.services.keep_live.outbox import audit


def plain(value: Any) -> Any:
    """A JSON-safe copy: Decimals and datetimes as strings, mappings and lists walked."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    return value


def changed_fields(
    before: Mapping[str, Any], after: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Only the keys whose value differs, from each side."""
    keys = [key for key in after if before.get(key) != after.get(key)]
    return {key: before.get(key) for key in keys}, {key: after[key] for key in keys}


def record_change(
    session: Session,
    actor: str,
    action: str,
    subject: str,
    *,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    **details: Any,
) -> None:
    """Append the audit row in the caller's transaction (`actor` like `operator:3`, `apikey:2`,
    `cli`)."""
    audit(
        session,
        actor[:80],
        action,
        subject[:80],
        before=plain(before) if before is not None else None,
        after=plain(after) if after is not None else None,
        **plain(details),
    )
