"""an appeal waits for the desk since a moment: set when the person files, follows up or
reopens, cleared when an operator answers (overdue, /open and /stats read it)

Revision ID: 0017_desk
Revises: 0013_money
Create Date: 2026-12-06 20:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db

revision: str = "0017_desk"
down_revision: str | None = "0013_money"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("appeals", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("waiting_since", core.db.UtcDateTime(timezone=True), nullable=True)
        )
        batch_op.create_index("ix_appeals_waiting", ["waiting_since"])
    # Open appeals nobody has answered yet wait since they were filed.
    op.execute(
        "UPDATE appeals SET waiting_since = created_at "
        "WHERE first_answer_at IS NULL AND status IN ('received', 'in_progress')"
    )


def downgrade() -> None:
    with op.batch_alter_table("appeals", schema=None) as batch_op:
        batch_op.drop_index("ix_appeals_waiting")
        batch_op.drop_column("waiting_since")
