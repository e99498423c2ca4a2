"""an identity check knows what it is for: the policy the person tried to link and what did
not match, or the appeal that asked for it

Revision ID: 0014_desk
Revises: 0013_desk
Create Date: 2026-11-29 20:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014_desk"
down_revision: str | None = "0013_desk"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("identity_checks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("insured_person_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("mismatch", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("appeal_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            "fk_identity_checks_insured_person_id",
            "insured_persons",
            ["insured_person_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_foreign_key(
            "fk_identity_checks_appeal_id", "appeals", ["appeal_id"], ["id"], ondelete="SET NULL"
        )


def downgrade() -> None:
    with op.batch_alter_table("identity_checks", schema=None) as batch_op:
        batch_op.drop_constraint("fk_identity_checks_appeal_id", type_="foreignkey")
        batch_op.drop_constraint("fk_identity_checks_insured_person_id", type_="foreignkey")
        batch_op.drop_column("appeal_id")
        batch_op.drop_column("mismatch")
        batch_op.drop_column("insured_person_id")
