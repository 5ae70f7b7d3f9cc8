"""What the operator console edits: program currency and point value, versions, reward
budgets and retirement, store address/timezone/coordinates, till last-seen, member erasure,
admin API keys, pass refresh batches, exactly-once point adjustments, audit by subject.

Existing programs get EUR and 0.01 per point (what the demo meant); existing rows version 1.

Revision ID: 0012_operator_console
Revises: 0011_operators
Create Date: 2026-12-20 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gateway.models.base

revision = "0012_operator_console"
down_revision = "0011_operators"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_POINTS = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _when(name: str, nullable: bool) -> sa.Column:
    return sa.Column(name, gateway.models.base.UtcDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    with op.batch_alter_table("programs", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("currency", sa.String(length=3), nullable=False, server_default="EUR")
        )
        batch_op.add_column(
            sa.Column(
                "point_value",
                sa.Numeric(precision=12, scale=4),
                nullable=False,
                server_default="0.01",
            )
        )
        batch_op.add_column(
            sa.Column("terms_url", sa.String(length=300), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("version", sa.Integer(), nullable=False, server_default="1")
        )
    with op.batch_alter_table("rewards", schema=None) as batch_op:
        batch_op.add_column(sa.Column("budget_points", _POINTS, nullable=True))
        batch_op.add_column(
            sa.Column("spent_points", _POINTS, nullable=False, server_default="0")
        )
        batch_op.add_column(_when("retired_at", True))
        batch_op.add_column(
            sa.Column("version", sa.Integer(), nullable=False, server_default="1")
        )
    with op.batch_alter_table("stores", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("address", sa.String(length=300), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("timezone", sa.String(length=64), nullable=False, server_default="UTC")
        )
        batch_op.add_column(sa.Column("latitude", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("longitude", sa.Float(), nullable=True))
    with op.batch_alter_table("terminals", schema=None) as batch_op:
        batch_op.add_column(_when("last_seen_at", True))
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.add_column(_when("erased_at", True))
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_events_subject"), ["subject"], unique=False)
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.create_index(
            "uq_ledger_adjustment_reference",
            ["reference"],
            unique=True,
            postgresql_where=sa.text("kind = 'adjustment'"),
            sqlite_where=sa.text("kind = 'adjustment'"),
        )
    op.create_table(
        "api_keys",
        sa.Column("id", _ID, nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("scope", sa.String(length=20), nullable=False),
        sa.Column("key_prefix", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        _when("created_at", False),
        _when("revoked_at", True),
        _when("last_used_at", True),
        sa.CheckConstraint(
            "scope IN ('admin', 'marketer', 'support')", name=op.f("ck_api_keys_scope")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
    )
    op.create_table(
        "pass_refreshes",
        sa.Column("id", _ID, nullable=False),
        sa.Column("program_id", _ID, nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("reason", sa.String(length=120), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        _when("created_at", False),
        sa.ForeignKeyConstraint(
            ["program_id"], ["programs.id"], name=op.f("fk_pass_refreshes_program_id_programs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pass_refreshes")),
    )
    with op.batch_alter_table("pass_refreshes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_pass_refreshes_program_id"), ["program_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("pass_refreshes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pass_refreshes_program_id"))
    op.drop_table("pass_refreshes")
    op.drop_table("api_keys")
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.drop_index("uq_ledger_adjustment_reference")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_events_subject"))
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.drop_column("erased_at")
    with op.batch_alter_table("terminals", schema=None) as batch_op:
        batch_op.drop_column("last_seen_at")
    with op.batch_alter_table("stores", schema=None) as batch_op:
        for column in ("longitude", "latitude", "timezone", "address"):
            batch_op.drop_column(column)
    with op.batch_alter_table("rewards", schema=None) as batch_op:
        for column in ("version", "retired_at", "spent_points", "budget_points"):
            batch_op.drop_column(column)
    with op.batch_alter_table("programs", schema=None) as batch_op:
        for column in ("version", "terms_url", "point_value", "currency"):
            batch_op.drop_column(column)
