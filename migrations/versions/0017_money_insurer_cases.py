"""the insurer's cases of a policy, attached to the cabinet that links the policy

Revision ID: 0017_money
Revises: 0017_desk
Create Date: 2026-12-06 20:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db

revision: str = "0017_money"
down_revision: str | None = "0017_desk"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "insurer_cases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=32), nullable=False),
        sa.Column("policy_id", sa.Integer(), nullable=False),
        sa.Column("event_date", sa.Date(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("stages", sa.JSON(), nullable=False),
        sa.Column("filed_at", core.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("appeal_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["appeal_id"], ["appeals.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["policy_id"], ["policies.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("reference"),
    )
    with op.batch_alter_table("insurer_cases", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_insurer_cases_policy_id"), ["policy_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("insurer_cases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_insurer_cases_policy_id"))
    op.drop_table("insurer_cases")
