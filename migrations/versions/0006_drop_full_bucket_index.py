"""Drop the full-history bucket index: every bucket query asks for open buckets only.

`ix_ledger_buckets (account_id, expires_at, id)` duplicated the partial `ix_ledger_open_buckets`
for every query the gateway runs (they all filter `remaining > 0`), and plain by-account lookups
have `ix_ledger_entries_account_id`. Each ledger insert, and each FIFO update of a bucket (not a
HOT update, since `remaining` is in the partial index's predicate), wrote to it for nothing.

Revision ID: 0006_drop_full_bucket_index
Revises: 0005_hot_path_indexes
Create Date: 2026-12-02 07:55:00
"""

from __future__ import annotations

from alembic import op

revision = "0006_drop_full_bucket_index"
down_revision = "0005_hot_path_indexes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_ledger_buckets", table_name="ledger_entries")


def downgrade() -> None:
    op.create_index(
        "ix_ledger_buckets", "ledger_entries", ["account_id", "expires_at", "id"], unique=False
    )
