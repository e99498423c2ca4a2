"""code limits per Telegram account and per target

Revision ID: 0012_sec
Revises: 0011
Create Date: 2026-11-29 20:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db

revision: str = '0012_sec'
down_revision: str | None = '0012_convb'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('code_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=80), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('at', core.db.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_code_events'))
    )
    with op.batch_alter_table('code_events', schema=None) as batch_op:
        batch_op.create_index('ix_code_events_key', ['key', 'kind', 'at'], unique=False)
    with op.batch_alter_table('confirmation_codes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('limit_keys', sa.Text(), nullable=False, server_default=''))


def downgrade() -> None:
    with op.batch_alter_table('confirmation_codes', schema=None) as batch_op:
        batch_op.drop_column('limit_keys')
    with op.batch_alter_table('code_events', schema=None) as batch_op:
        batch_op.drop_index('ix_code_events_key')
    op.drop_table('code_events')
