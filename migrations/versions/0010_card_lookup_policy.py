"""Card lookups: a per-program policy requiring a checkout, and the per-terminal lookup counter.

`programs.card_lookup_requires_checkout` (false for existing programs: lookups work as before)
makes GET /pos/v1/cards/<number> answer 403 checkout_required without an open checkout of the
till for that card. `card_lookups` holds each terminal's lookups of the last minute, counted for
CARD_LOOKUPS_PER_MINUTE across every worker.

Revision ID: 0010_card_lookup_policy
Revises: 0009_pass_link_security
Create Date: 2026-12-10 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gateway.models.base

revision = "0010_card_lookup_policy"
down_revision = "0009_pass_link_security"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("programs", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "card_lookup_requires_checkout",
                sa.Boolean(),
                nullable=False,
                server_default=sa.false(),
            )
        )
    op.create_table(
        "card_lookups",
        sa.Column("id", _ID, nullable=False),
        sa.Column("terminal_id", _ID, nullable=False),
        sa.Column("at", gateway.models.base.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["terminal_id"], ["terminals.id"], name=op.f("fk_card_lookups_terminal_id_terminals")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_card_lookups")),
    )
    with op.batch_alter_table("card_lookups", schema=None) as batch_op:
        batch_op.create_index("ix_card_lookups_terminal_at", ["terminal_id", "at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("card_lookups", schema=None) as batch_op:
        batch_op.drop_index("ix_card_lookups_terminal_at")
    op.drop_table("card_lookups")
    with op.batch_alter_table("programs", schema=None) as batch_op:
        batch_op.drop_column("card_lookup_requires_checkout")
