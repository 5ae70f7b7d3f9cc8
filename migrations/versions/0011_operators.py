"""Operator accounts of the console and their sign-in sessions.

- operators: e-mail (normalized, unique), role, argon2 password hash, sealed TOTP secret, failed
  sign-ins and lock, the set-password link's token hash and expiry.
- operator_sessions: one row per signed-in browser (token hash); deleting it signs out.

Revision ID: 0011_operators
Revises: 0010_card_lookup_policy
Create Date: 2026-12-15 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gateway.models.base

revision = "0011_operators"
down_revision = "0010_card_lookup_policy"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _when(name: str, nullable: bool) -> sa.Column:
    return sa.Column(name, gateway.models.base.UtcDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "operators",
        sa.Column("id", _ID, nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=True),
        sa.Column("totp_secret", sa.LargeBinary(), nullable=True),
        sa.Column("totp_pending_secret", sa.LargeBinary(), nullable=True),
        sa.Column("totp_last_step", _ID, nullable=False),
        sa.Column("failed_signins", sa.Integer(), nullable=False),
        _when("locked_until", True),
        sa.Column("password_token_hash", sa.String(length=64), nullable=True),
        _when("password_token_expires_at", True),
        _when("created_at", False),
        _when("last_signin_at", True),
        sa.CheckConstraint(
            "role IN ('admin', 'marketer', 'support')", name=op.f("ck_operators_role")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operators")),
        sa.UniqueConstraint("email", name=op.f("uq_operators_email")),
        sa.UniqueConstraint("password_token_hash", name=op.f("uq_operators_password_token_hash")),
    )
    op.create_table(
        "operator_sessions",
        sa.Column("id", _ID, nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("operator_id", _ID, nullable=False),
        _when("created_at", False),
        _when("last_seen_at", False),
        sa.ForeignKeyConstraint(
            ["operator_id"],
            ["operators.id"],
            name=op.f("fk_operator_sessions_operator_id_operators"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operator_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_operator_sessions_token_hash")),
    )
    with op.batch_alter_table("operator_sessions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_operator_sessions_operator_id"), ["operator_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("operator_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_operator_sessions_operator_id"))
    op.drop_table("operator_sessions")
    op.drop_table("operators")
