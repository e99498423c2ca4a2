"""franchise start rules of the program, the desk-first period, disputed and cancelled shares,
the ICD-10 code encrypted at rest

Revision ID: 0013_money
Revises: 0012_sec
Create Date: 2026-11-29 20:15:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db

revision: str = "0013_money"
down_revision: str | None = "0016_desk"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("programs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("activation_minutes", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "registration_working_days", sa.Integer(), nullable=False, server_default="0"
            )
        )
        batch_op.drop_column("activation_delay_hours")
    with op.batch_alter_table("franchises", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("desk_first_until", core.db.UtcDateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table("bills", schema=None) as batch_op:
        # The ICD-10 code is encrypted at rest now (main.py seals the codes kept in clear).
        batch_op.alter_column(
            "diagnosis_code",
            existing_type=sa.String(length=16),
            type_=sa.String(length=1024),
            existing_nullable=True,
        )
    with op.batch_alter_table("charges", schema=None) as batch_op:
        batch_op.add_column(sa.Column("disputed_from", sa.String(length=16), nullable=True))
        # Debts that exist already were announced one by one before this revision.
        batch_op.add_column(
            sa.Column("debt_told", sa.Boolean(), nullable=False, server_default=sa.true())
        )


def downgrade() -> None:
    with op.batch_alter_table("bills", schema=None) as batch_op:
        batch_op.alter_column(
            "diagnosis_code",
            existing_type=sa.String(length=1024),
            type_=sa.String(length=16),
            existing_nullable=True,
        )
    with op.batch_alter_table("charges", schema=None) as batch_op:
        batch_op.drop_column("debt_told")
        batch_op.drop_column("disputed_from")
    with op.batch_alter_table("franchises", schema=None) as batch_op:
        batch_op.drop_column("desk_first_until")
    with op.batch_alter_table("programs", schema=None) as batch_op:
        batch_op.drop_column("registration_working_days")
        batch_op.add_column(
            sa.Column(
                "activation_delay_hours", sa.Integer(), nullable=False, server_default="24"
            )
        )
