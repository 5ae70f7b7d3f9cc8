"""Reports: the program's timezone, Apple registration history and daily rollups.

- enrollments: indexed by (program, start time) for the enrollments chart.
- programs.timezone: IANA name; a program-wide figure (enrollments, installs, expiries) falls on
  the program's day, a store's figure on the store's day.
- apple_registration_events: apple_registrations rows are deleted on unregistration, so each
  registration and unregistration is also appended here (existing registrations backfilled).
- report_daily: per program, local day, store and metric, the counts and sums of the ledger,
  accruals, refunds and scans, added by the rollup chore in id order. Scan records are purged
  after a day, so this is where their history lives.
- report_visits: one row per card and local day with an accepted scan (active members, repeat
  visits).
- report_watermarks: the last id of each source table already added to the rollups.
- report_snapshots: per program, the figures of "now" (members, passes on phones, outstanding
  and soon-expiring points, budget spent per reward) recomputed from the raw rows by the same
  chore, so the page does not scan every member, pass and open bucket on each view.

Revision ID: 0014_reports
Revises: 0013_operations_health
Create Date: 2026-12-22 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gateway.models.base

revision = "0014_reports"
down_revision = "0013_operations_health"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _when(name: str, nullable: bool) -> sa.Column:
    return sa.Column(name, gateway.models.base.UtcDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    with op.batch_alter_table("programs", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("timezone", sa.String(length=64), nullable=False, server_default="UTC")
        )
    with op.batch_alter_table("enrollments", schema=None) as batch_op:
        batch_op.create_index(
            "ix_enrollments_program_created", ["program_id", "created_at"], unique=False
        )
    op.create_table(
        "apple_registration_events",
        sa.Column("id", _ID, nullable=False),
        sa.Column("pass_id", _ID, nullable=False),
        sa.Column("device_id", _ID, nullable=False),
        sa.Column("event", sa.String(length=14), nullable=False),
        _when("at", False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_apple_registration_events")),
    )
    with op.batch_alter_table("apple_registration_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_apple_registration_events_at"), ["at"], unique=False)
    op.execute(
        "INSERT INTO apple_registration_events (pass_id, device_id, event, at) "
        "SELECT pass_id, device_id, 'registered', created_at FROM apple_registrations"
    )
    op.create_table(
        "report_daily",
        sa.Column("program_id", _ID, nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("store_id", _ID, nullable=False),
        sa.Column("metric", sa.String(length=40), nullable=False),
        sa.Column("dim", sa.String(length=64), nullable=False),
        sa.Column("count", _BIG, nullable=False),
        sa.Column("points", _BIG, nullable=False),
        sa.Column("amount", sa.Numeric(precision=16, scale=2), nullable=False),
        sa.PrimaryKeyConstraint(
            "program_id", "day", "store_id", "metric", "dim", name=op.f("pk_report_daily")
        ),
    )
    op.create_table(
        "report_visits",
        sa.Column("program_id", _ID, nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("card_id", _ID, nullable=False),
        sa.PrimaryKeyConstraint("program_id", "day", "card_id", name=op.f("pk_report_visits")),
    )
    op.create_table(
        "report_watermarks",
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("last_id", _BIG, nullable=False),
        _when("updated_at", False),
        sa.PrimaryKeyConstraint("source", name=op.f("pk_report_watermarks")),
    )
    op.create_table(
        "report_snapshots",
        sa.Column("program_id", _ID, nullable=False),
        _when("taken_at", False),
        sa.Column("members", _BIG, nullable=False),
        sa.Column("members_with_pass", _BIG, nullable=False),
        sa.Column("apple_active", _BIG, nullable=False),
        sa.Column("google_active", _BIG, nullable=False),
        sa.Column("outstanding_points", _BIG, nullable=False),
        sa.Column("expiring_points", _BIG, nullable=False),
        sa.Column("reward_spent", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("program_id", name=op.f("pk_report_snapshots")),
    )


def downgrade() -> None:
    op.drop_table("report_snapshots")
    op.drop_table("report_watermarks")
    op.drop_table("report_visits")
    op.drop_table("report_daily")
    with op.batch_alter_table("apple_registration_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_apple_registration_events_at"))
    op.drop_table("apple_registration_events")
    with op.batch_alter_table("enrollments", schema=None) as batch_op:
        batch_op.drop_index("ix_enrollments_program_created")
    with op.batch_alter_table("programs", schema=None) as batch_op:
        batch_op.drop_column("timezone")
