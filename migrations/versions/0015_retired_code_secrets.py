"""Retired one-time-code secrets: an old copy of a replaced card is told apart from a guess.

- retired_code_secrets: when a card's pass credentials are rotated (replace, revoke, enrolling
  again), each pass's code secret is kept here, sealed, with its wallet, serial, Apple counter
  and TOTP period/digits, for RETIRED_CODE_SECRET_DAYS; a code of one of them at the till answers
  card_revoked instead of code_rejected and does not count toward the card's scan lock.

Revision ID: 0015_retired_code_secrets
Revises: 0014_reports
Create Date: 2026-12-23 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gateway.models.base

revision = "0015_retired_code_secrets"
down_revision = "0014_reports"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "retired_code_secrets",
        sa.Column("id", _ID, nullable=False),
        sa.Column("card_id", _ID, nullable=False),
        sa.Column("wallet", sa.String(length=10), nullable=False),
        sa.Column("serial", sa.String(length=64), nullable=False),
        sa.Column("sealed_secret", sa.LargeBinary(), nullable=False),
        sa.Column("counter", sa.Integer(), nullable=False),
        sa.Column("totp_period", sa.Integer(), nullable=False),
        sa.Column("totp_digits", sa.Integer(), nullable=False),
        sa.Column("retired_at", gateway.models.base.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["card_id"], ["cards.id"], name=op.f("fk_retired_code_secrets_card_id_cards")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_retired_code_secrets")),
    )
    with op.batch_alter_table("retired_code_secrets", schema=None) as batch_op:
        batch_op.create_index(
            "ix_retired_code_secrets_card_retired", ["card_id", "retired_at"], unique=False
        )
        batch_op.create_index("ix_retired_code_secrets_retired_at", ["retired_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("retired_code_secrets", schema=None) as batch_op:
        batch_op.drop_index("ix_retired_code_secrets_retired_at")
        batch_op.drop_index("ix_retired_code_secrets_card_retired")
    op.drop_table("retired_code_secrets")
