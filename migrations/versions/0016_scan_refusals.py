"""Refused scans that count toward no lock, for the reports.

- scan_refusals: one row per scan refused as a replayed code (409 code_already_used), a locked
  card (423 card_locked) or a malformed scan (400 malformed_scan), with the till, its store and
  the card when known. Written after the scan's own transaction, on those failure paths only;
  the lockout never reads it (scan_failures stays the table of guesses). The report rollups take
  the rows in id order; housekeeping purges them with the other scan records.

Revision ID: 0016_scan_refusals
Revises: 0015_retired_code_secrets
Create Date: 2026-12-24 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gateway.models.base

revision = "0016_scan_refusals"
down_revision = "0015_retired_code_secrets"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "scan_refusals",
        sa.Column("id", _ID, nullable=False),
        sa.Column("terminal_id", _ID, nullable=False),
        sa.Column("store_id", _ID, nullable=False),
        sa.Column("card_id", _ID, nullable=True),
        sa.Column("reason", sa.String(length=30), nullable=False),
        sa.Column("at", gateway.models.base.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["card_id"], ["cards.id"], name=op.f("fk_scan_refusals_card_id_cards")
        ),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_scan_refusals_store_id_stores")
        ),
        sa.ForeignKeyConstraint(
            ["terminal_id"], ["terminals.id"], name=op.f("fk_scan_refusals_terminal_id_terminals")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scan_refusals")),
    )


def downgrade() -> None:
    op.drop_table("scan_refusals")
