"""Pass links, enrollment resends and consent links become revocable.

- passes.download_token_expires_at: a download link is short-lived (PASS_LINK_TTL_SECONDS). Links
  handed out before the upgrade get one TTL's default (a day) from the upgrade.
- enrollments.sends: codes sent for one enrollment (a new request resends the pending one's code).
- members.consent_token_hash: the consent link is a random token stored hashed; the old signed
  links (the member id, signed, without expiry) stop working at the upgrade.

Revision ID: 0009_pass_link_security
Revises: 0008_points_columns_64_bit
Create Date: 2026-12-04 09:00:00
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

import gateway.models.base

revision = "0009_pass_link_security"
down_revision = "0008_points_columns_64_bit"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("passes", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "download_token_expires_at",
                gateway.models.base.UtcDateTime(timezone=True),
                nullable=True,
            )
        )
    passes = sa.table(
        "passes",
        sa.column("download_token_hash", sa.String()),
        sa.column("download_token_expires_at", gateway.models.base.UtcDateTime(timezone=True)),
    )
    op.execute(
        passes.update()
        .where(passes.c.download_token_hash.is_not(None))
        .values(download_token_expires_at=datetime.now(UTC) + timedelta(days=1))
    )
    with op.batch_alter_table("enrollments", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("sends", sa.Integer(), nullable=False, server_default=sa.text("1"))
        )
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.add_column(sa.Column("consent_token_hash", sa.String(length=64), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_members_consent_token_hash"), ["consent_token_hash"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_members_consent_token_hash"))
        batch_op.drop_column("consent_token_hash")
    with op.batch_alter_table("enrollments", schema=None) as batch_op:
        batch_op.drop_column("sends")
    with op.batch_alter_table("passes", schema=None) as batch_op:
        batch_op.drop_column("download_token_expires_at")
