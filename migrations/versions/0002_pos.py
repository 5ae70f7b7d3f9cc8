"""POS: stores, terminals, checkouts, used codes, scan failures, redemptions, accruals,
refunds, idempotency records; ledger_entries.held_change.

Revision ID: 0002_pos
Revises: 0001_core_tables
Create Date: 2026-11-22 06:40:23.321888
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gateway.models.base

revision = "0002_pos"
down_revision = '0001_core_tables'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('stores',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('program_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('created_at', gateway.models.base.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['program_id'], ['programs.id'], name=op.f('fk_stores_program_id_programs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stores')),
    sa.UniqueConstraint('code', name=op.f('uq_stores_code'))
    )
    op.create_table('terminals',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('store_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('key_prefix', sa.String(length=16), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('locked_until', gateway.models.base.UtcDateTime(timezone=True), nullable=True),
    sa.Column('created_at', gateway.models.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', gateway.models.base.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_terminals_store_id_stores')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_terminals')),
    sa.UniqueConstraint('key_hash', name=op.f('uq_terminals_key_hash'))
    )
    with op.batch_alter_table('terminals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_terminals_key_prefix'), ['key_prefix'], unique=False)
        batch_op.create_index(batch_op.f('ix_terminals_store_id'), ['store_id'], unique=False)

    op.create_table('accruals',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('public_id', sa.String(length=32), nullable=False),
    sa.Column('account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('card_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('store_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('terminal_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('order_id', sa.String(length=100), nullable=False),
    sa.Column('order_total', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.Column('reversed_points', sa.Integer(), nullable=False),
    sa.Column('created_at', gateway.models.base.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_accruals_account_id_accounts')),
    sa.ForeignKeyConstraint(['card_id'], ['cards.id'], name=op.f('fk_accruals_card_id_cards')),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_accruals_store_id_stores')),
    sa.ForeignKeyConstraint(['terminal_id'], ['terminals.id'], name=op.f('fk_accruals_terminal_id_terminals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_accruals')),
    sa.UniqueConstraint('public_id', name=op.f('uq_accruals_public_id')),
    sa.UniqueConstraint('store_id', 'order_id', name=op.f('uq_accruals_store_id_order_id'))
    )
    with op.batch_alter_table('accruals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_accruals_account_id'), ['account_id'], unique=False)

    op.create_table('idempotency_records',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('terminal_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('response_status', sa.Integer(), nullable=True),
    sa.Column('response_body', sa.Text(), nullable=True),
    sa.Column('created_at', gateway.models.base.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['terminal_id'], ['terminals.id'], name=op.f('fk_idempotency_records_terminal_id_terminals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_idempotency_records')),
    sa.UniqueConstraint('terminal_id', 'key', name=op.f('uq_idempotency_records_terminal_id_key'))
    )
    with op.batch_alter_table('idempotency_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_idempotency_records_created_at'), ['created_at'], unique=False)

    op.create_table('redemptions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('public_id', sa.String(length=32), nullable=False),
    sa.Column('account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('card_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('store_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('terminal_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('reward_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('discount_percent', sa.Numeric(precision=5, scale=2), nullable=True),
    sa.Column('order_id', sa.String(length=100), nullable=True),
    sa.Column('order_total', sa.Numeric(precision=12, scale=2), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=True),
    sa.Column('returned_points', sa.Integer(), nullable=False),
    sa.Column('hold_expires_at', gateway.models.base.UtcDateTime(timezone=True), nullable=True),
    sa.Column('created_at', gateway.models.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('settled_at', gateway.models.base.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_redemptions_account_id_accounts')),
    sa.ForeignKeyConstraint(['card_id'], ['cards.id'], name=op.f('fk_redemptions_card_id_cards')),
    sa.ForeignKeyConstraint(['reward_id'], ['rewards.id'], name=op.f('fk_redemptions_reward_id_rewards')),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_redemptions_store_id_stores')),
    sa.ForeignKeyConstraint(['terminal_id'], ['terminals.id'], name=op.f('fk_redemptions_terminal_id_terminals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_redemptions')),
    sa.UniqueConstraint('public_id', name=op.f('uq_redemptions_public_id'))
    )
    with op.batch_alter_table('redemptions', schema=None) as batch_op:
        batch_op.create_index('ix_redemptions_account_day', ['account_id', 'created_at'], unique=False)
        batch_op.create_index('ix_redemptions_held', ['status', 'hold_expires_at'], unique=False)
        batch_op.create_index('ix_redemptions_store_order', ['store_id', 'order_id'], unique=False)

    op.create_table('refunds',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('public_id', sa.String(length=32), nullable=False),
    sa.Column('store_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('terminal_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('order_id', sa.String(length=100), nullable=False),
    sa.Column('refund_key', sa.String(length=120), nullable=False),
    sa.Column('refund_total', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('points_reversed', sa.Integer(), nullable=False),
    sa.Column('points_unrecovered', sa.Integer(), nullable=False),
    sa.Column('points_returned', sa.Integer(), nullable=False),
    sa.Column('created_at', gateway.models.base.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_refunds_account_id_accounts')),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_refunds_store_id_stores')),
    sa.ForeignKeyConstraint(['terminal_id'], ['terminals.id'], name=op.f('fk_refunds_terminal_id_terminals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_refunds')),
    sa.UniqueConstraint('public_id', name=op.f('uq_refunds_public_id')),
    sa.UniqueConstraint('store_id', 'order_id', 'refund_key', name=op.f('uq_refunds_store_id_order_id_refund_key'))
    )
    op.create_table('scan_failures',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('card_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('terminal_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('reason', sa.String(length=30), nullable=False),
    sa.Column('at', gateway.models.base.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['card_id'], ['cards.id'], name=op.f('fk_scan_failures_card_id_cards')),
    sa.ForeignKeyConstraint(['terminal_id'], ['terminals.id'], name=op.f('fk_scan_failures_terminal_id_terminals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scan_failures'))
    )
    with op.batch_alter_table('scan_failures', schema=None) as batch_op:
        batch_op.create_index('ix_scan_failures_card_at', ['card_id', 'at'], unique=False)
        batch_op.create_index('ix_scan_failures_terminal_at', ['terminal_id', 'at'], unique=False)

    op.create_table('checkouts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('token_sealed', sa.LargeBinary(), nullable=False),
    sa.Column('terminal_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('card_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('pass_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('code_step', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('expires_at', gateway.models.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('created_at', gateway.models.base.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['card_id'], ['cards.id'], name=op.f('fk_checkouts_card_id_cards')),
    sa.ForeignKeyConstraint(['pass_id'], ['passes.id'], name=op.f('fk_checkouts_pass_id_passes')),
    sa.ForeignKeyConstraint(['terminal_id'], ['terminals.id'], name=op.f('fk_checkouts_terminal_id_terminals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_checkouts')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_checkouts_token_hash'))
    )
    with op.batch_alter_table('checkouts', schema=None) as batch_op:
        batch_op.create_index('ix_checkouts_pass_step', ['pass_id', 'code_step'], unique=False)

    op.create_table('used_codes',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('pass_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('step', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('terminal_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('used_at', gateway.models.base.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['pass_id'], ['passes.id'], name=op.f('fk_used_codes_pass_id_passes')),
    sa.ForeignKeyConstraint(['terminal_id'], ['terminals.id'], name=op.f('fk_used_codes_terminal_id_terminals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_used_codes')),
    sa.UniqueConstraint('pass_id', 'step', name=op.f('uq_used_codes_pass_id_step'))
    )
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('held_change', sa.Integer(), server_default='0', nullable=False))



def downgrade() -> None:
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.drop_column('held_change')

    op.drop_table('used_codes')
    with op.batch_alter_table('checkouts', schema=None) as batch_op:
        batch_op.drop_index('ix_checkouts_pass_step')

    op.drop_table('checkouts')
    with op.batch_alter_table('scan_failures', schema=None) as batch_op:
        batch_op.drop_index('ix_scan_failures_terminal_at')
        batch_op.drop_index('ix_scan_failures_card_at')

    op.drop_table('scan_failures')
    op.drop_table('refunds')
    with op.batch_alter_table('redemptions', schema=None) as batch_op:
        batch_op.drop_index('ix_redemptions_store_order')
        batch_op.drop_index('ix_redemptions_held')
        batch_op.drop_index('ix_redemptions_account_day')

    op.drop_table('redemptions')
    with op.batch_alter_table('idempotency_records', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_idempotency_records_created_at'))

    op.drop_table('idempotency_records')
    with op.batch_alter_table('accruals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_accruals_account_id'))

    op.drop_table('accruals')
    with op.batch_alter_table('terminals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_terminals_store_id'))
        batch_op.drop_index(batch_op.f('ix_terminals_key_prefix'))

    op.drop_table('terminals')
    op.drop_table('stores')
