"""Hot-path indexes: an account's open FIFO buckets without scanning its whole ledger.

A redemption spends the account's open buckets (`remaining > 0`) oldest-expiry first. The
existing indexes find every ledger row of the account and filter, so the cost of each
redemption grew with the account's history (EXPLAIN ANALYZE: 1,523 of 1,524 rows removed by
the filter after a thousand redemptions). This partial index holds only open buckets, in the
order they are spent, so the scan reads just those.

Revision ID: 0005_hot_path_indexes
Revises: 0004_google_callback_nonces
Create Date: 2026-11-22 07:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_hot_path_indexes"
down_revision = "0004_google_callback_nonces"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_ledger_open_buckets",
        "ledger_entries",
        ["account_id", "expires_at", "id"],
        unique=False,
        postgresql_where=sa.text("remaining > 0"),
        sqlite_where=sa.text("remaining > 0"),
    )


def downgrade() -> None:
    op.drop_index("ix_ledger_open_buckets", table_name="ledger_entries")
