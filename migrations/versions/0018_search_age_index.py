"""clinic searches are purged by age in an hourly tick (no delete beside each new search)

Revision ID: 0018_search_age
Revises: 0017_money
Create Date: 2026-12-07 09:50:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0018_search_age"
down_revision: str | None = "0017_money"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("clinic_searches", schema=None) as batch_op:
        batch_op.create_index("ix_clinic_searches_created_at", ["created_at"])


def downgrade() -> None:
    with op.batch_alter_table("clinic_searches", schema=None) as batch_op:
        batch_op.drop_index("ix_clinic_searches_created_at")
