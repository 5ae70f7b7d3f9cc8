"""Apple codes that sat unused too long are replaced by the next counter and pushed to the phone.

A screenshot taken long ago must not stay valid forever: after APPLE_CODE_MAX_AGE_DAYS the
counter moves on (the old code is then refused at the till) and Wallet fetches the new pass.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from gateway.models.card import WalletPass
from gateway.services.keep_live.outbox import add_event


def rotate_stale_apple_codes(
    session: Session, now: datetime, max_age: timedelta, batch_size: int = 500
) -> int:
    """Advance every Apple pass whose current code is older than `max_age`; returns how many."""
    rotated = 0
    cutoff = now - max_age
    last_id = 0
    while True:
        stale = session.execute(
            select(WalletPass.id, WalletPass.serial, WalletPass.code_counter)
            .where(
                WalletPass.wallet == "apple",
                WalletPass.code_issued_at < cutoff,
                WalletPass.id > last_id,
            )
            .order_by(WalletPass.id)
            .limit(batch_size)
        ).all()
        if not stale:
            return rotated
        for pass_id, serial, counter in stale:
            last_id = pass_id
            # Conditional on the counter: a till accepting this code right now wins the race.
            moved = session.execute(
                update(WalletPass)
                .where(WalletPass.id == pass_id, WalletPass.code_counter == counter)
                .values(
                    code_counter=counter + 1,
                    code_issued_at=now,
                    update_tag=WalletPass.update_tag + 1,
                    updated_at=now,
                )
            )
            if getattr(moved, "rowcount", 0) == 1:
                add_event(
                    session,
                    "pass.changed",
                    {"pass_id": pass_id, "serial": serial, "reason": "code_expired"},
                )
                rotated += 1
        session.commit()
