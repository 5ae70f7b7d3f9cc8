"""Points columns become 64-bit.

A balance pushed past 2^31 - 1 (141 accruals of 10,000,000 points) made every further change of
the account fail with a database error. Balances, holds, lifetime points, ledger movements and
the points of redemptions, accruals, refunds, the campaign budget and the built-in CRM are
BIGINT on PostgreSQL now. SQLite's INTEGER is already 64-bit, so nothing changes there (the
models use the same BIGINT-on-PostgreSQL, INTEGER-on-SQLite variant as the ids).

Revision ID: 0008_points_columns_64_bit
Revises: 0007_checkouts_as_signed_tokens
Create Date: 2026-12-03 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_points_columns_64_bit"
down_revision = "0007_checkouts_as_signed_tokens"
branch_labels = None
depends_on = None

# (table, column, nullable)
POINTS_COLUMNS: tuple[tuple[str, str, bool], ...] = (
    ("accounts", "balance", False),
    ("accounts", "held", False),
    ("accounts", "lifetime_points", False),
    ("ledger_entries", "points", False),
    ("ledger_entries", "held_change", False),
    ("ledger_entries", "remaining", False),
    ("redemptions", "points", False),
    ("redemptions", "returned_points", False),
    ("accruals", "points", False),
    ("accruals", "reversed_points", False),
    ("refunds", "points_reversed", False),
    ("refunds", "points_unrecovered", False),
    ("refunds", "points_returned", False),
    ("programs", "campaign_budget_points", True),
    ("programs", "campaign_spent_points", False),
    ("tiers", "threshold", False),
    ("crm_members", "balance", False),
)


def _alter(new_type: sa.types.TypeEngine[int], old_type: sa.types.TypeEngine[int]) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite stores every INTEGER in up to 8 bytes already.
    for table, column, nullable in POINTS_COLUMNS:
        op.alter_column(
            table, column, type_=new_type, existing_type=old_type, existing_nullable=nullable
        )


def upgrade() -> None:
    _alter(sa.BigInteger(), sa.Integer())


def downgrade() -> None:
    _alter(sa.Integer(), sa.BigInteger())
