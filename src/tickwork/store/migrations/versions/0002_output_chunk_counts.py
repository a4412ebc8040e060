"""output chunk counts on attempts

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 22:30:00

Each attempt counts the output chunks appended to stdout and stderr; run.log events carry
the chunk's number, so a client can join a stored log and live chunks exactly.
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("attempts") as batch:
        batch.add_column(
            sa.Column("stdout_chunks", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(
            sa.Column("stderr_chunks", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("attempts") as batch:
        batch.drop_column("stderr_chunks")
        batch.drop_column("stdout_chunks")
