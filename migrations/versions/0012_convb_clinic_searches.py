"""clinic searches: the context of a clinic list's buttons

Revision ID: 0012_convb
Revises: 0011
Create Date: 2026-11-29 20:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db

revision: str = '0012_convb'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('clinic_searches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('query', sa.String(length=100), nullable=True),
    sa.Column('latitude', sa.Float(), nullable=True),
    sa.Column('longitude', sa.Float(), nullable=True),
    sa.Column('created_at', core.db.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_clinic_searches_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_clinic_searches')),
    sqlite_autoincrement=True,
    )
    with op.batch_alter_table('clinic_searches', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_clinic_searches_user_id'), ['user_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('clinic_searches', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_clinic_searches_user_id'))

    op.drop_table('clinic_searches')
