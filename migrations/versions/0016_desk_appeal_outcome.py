"""an appeal that disputes something (a service not provided) is closed with an explicit
outcome: confirmed or rejected

Revision ID: 0016_desk
Revises: 0015_desk
Create Date: 2026-11-29 20:55:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016_desk"
down_revision: str | None = "0015_desk"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("appeals", schema=None) as batch_op:
        batch_op.add_column(sa.Column("outcome", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("appeals", schema=None) as batch_op:
        batch_op.drop_column("outcome")
