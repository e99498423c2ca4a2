"""curators per contract (medical and administrative, names and phones only: the label is the
bot's) and the program's telemedicine phone

Revision ID: 0015_desk
Revises: 0014_desk
Create Date: 2026-11-29 20:45:00
"""

import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015_desk"
down_revision: str | None = "0014_desk"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LABEL = re.compile(r"^\s*[^:]{0,40}куратор[^:]{0,40}:\s*", re.IGNORECASE)


def upgrade() -> None:
    with op.batch_alter_table("programs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("admin_curator", sa.String(length=256), nullable=True))
        batch_op.add_column(sa.Column("telemedicine_phone", sa.String(length=64), nullable=True))
    programs = sa.table("programs", sa.column("id", sa.Integer), sa.column("curator", sa.String))
    connection = op.get_bind()
    for program_id, curator in connection.execute(sa.select(programs.c.id, programs.c.curator)):
        if curator and LABEL.match(curator):  # "Врач-куратор: доктор ..." -> "доктор ..."
            connection.execute(
                programs.update()
                .where(programs.c.id == program_id)
                .values(curator=LABEL.sub("", curator))
            )


def downgrade() -> None:
    with op.batch_alter_table("programs", schema=None) as batch_op:
        batch_op.drop_column("telemedicine_phone")
        batch_op.drop_column("admin_curator")
