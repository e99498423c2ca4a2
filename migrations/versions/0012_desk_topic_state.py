"""the desk topic follows its appeal: the card's message and the state shown in the topic

Revision ID: 0012_desk
Revises: 0012_sec
Create Date: 2026-11-29 20:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_desk"
down_revision: str | None = "0012_sec"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("appeals", schema=None) as batch_op:
        batch_op.add_column(sa.Column("operators_card_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("topic_state", sa.String(length=16), nullable=True))
        batch_op.create_index("ix_appeals_user_created", ["user_id", "created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("appeals", schema=None) as batch_op:
        batch_op.drop_index("ix_appeals_user_created")
        batch_op.drop_column("topic_state")
        batch_op.drop_column("operators_card_id")
