"""Checkouts become signed tokens: drop the checkouts table.

A checkout token now carries its terminal, card, pass, code step and expiry under an HMAC tag
(gateway.pos.checkout), so opening one writes nothing and using one reads nothing extra; a
re-scan rebuilds the same token from the used code's row. Open checkouts at the upgrade end
(tills get checkout_expired and scan again).

Revision ID: 0007_checkouts_as_signed_tokens
Revises: 0006_drop_full_bucket_index
Create Date: 2026-12-02 08:05:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gateway.models.base

revision = "0007_checkouts_as_signed_tokens"
down_revision = "0006_drop_full_bucket_index"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("checkouts", schema=None) as batch_op:
        batch_op.drop_index("ix_checkouts_pass_step")
    op.drop_table("checkouts")


def downgrade() -> None:
    op.create_table(
        "checkouts",
        sa.Column("id", _ID, nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("token_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("terminal_id", _ID, nullable=False),
        sa.Column("card_id", _ID, nullable=False),
        sa.Column("pass_id", _ID, nullable=False),
        sa.Column("code_step", _ID, nullable=False),
        sa.Column("expires_at", gateway.models.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("created_at", gateway.models.base.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["card_id"], ["cards.id"], name="fk_checkouts_card_id_cards"),
        sa.ForeignKeyConstraint(["pass_id"], ["passes.id"], name="fk_checkouts_pass_id_passes"),
        sa.ForeignKeyConstraint(
            ["terminal_id"], ["terminals.id"], name="fk_checkouts_terminal_id_terminals"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_checkouts"),
        sa.UniqueConstraint("token_hash", name="uq_checkouts_token_hash"),
    )
    with op.batch_alter_table("checkouts", schema=None) as batch_op:
        batch_op.create_index("ix_checkouts_pass_step", ["pass_id", "code_step"], unique=False)
