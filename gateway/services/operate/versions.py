"""Optimistic concurrency for operator edits: a save names the version it was based on."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from gateway.domain.errors import GatewayError


def stale_edit(what: str) -> GatewayError:
    """409 `edit_conflict`: someone saved a newer version first."""
    return GatewayError(
        "edit_conflict",
        f"{what} was changed by someone else after you opened it. Reload to see their change, "
        "then make yours again.",
        409,
    )


def claim_version(session: Session, model: Any, row_id: int, expected: int, what: str) -> int:
    """Bump the row's version from `expected`; 409 when another save came first.

    The conditional UPDATE is the whole check: two concurrent saves based on the same version
    cannot both match, so the later one gets the conflict instead of overwriting."""
    result = session.execute(
        update(model)
        .where(model.id == row_id, model.version == expected)
        .values(version=expected + 1)
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 0) != 1:
        session.rollback()
        raise stale_edit(what)
    return expected + 1
