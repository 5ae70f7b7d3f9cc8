"""Operations health: worker heartbeats and outbox dead letters.

- worker_heartbeats: the last run of each background job (outbox delivery, housekeeping) with the
  host, the last successful run and the last error's type; /readyz reads it.
- outbox.dead_at: an event that failed OUTBOX_MAX_ATTEMPTS times stops retrying (dead letter).

Revision ID: 0013_operations_health
Revises: 0012_operator_console
Create Date: 2026-12-21 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gateway.models.base

revision = "0013_operations_health"
down_revision = "0012_operator_console"
branch_labels = None
depends_on = None


def _when(name: str, nullable: bool) -> sa.Column:
    return sa.Column(name, gateway.models.base.UtcDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "worker_heartbeats",
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("host", sa.String(length=120), nullable=False),
        _when("last_run_at", False),
        _when("last_ok_at", True),
        sa.Column("last_error", sa.String(length=300), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_worker_heartbeats")),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(_when("dead_at", True))


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("dead_at")
    op.drop_table("worker_heartbeats")
