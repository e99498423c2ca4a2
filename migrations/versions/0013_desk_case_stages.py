"""insured-event cases move through stages to a decision; the desk's open prompt

Revision ID: 0013_desk
Revises: 0012_desk
Create Date: 2026-11-29 20:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_desk"
down_revision: str | None = "0012_desk"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("appeals", schema=None) as batch_op:
        batch_op.add_column(sa.Column("stage", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("decision_amount", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("decision_text", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("desk_prompt", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("appeals", schema=None) as batch_op:
        batch_op.drop_column("desk_prompt")
        batch_op.drop_column("decision_text")
        batch_op.drop_column("decision_amount")
        batch_op.drop_column("stage")
