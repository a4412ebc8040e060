"""error summaries, who cancelled a run

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 22:00:00

Runs, attempts and dead letters keep a one-line summary of why an attempt failed (the
exception line, the last stderr line, the HTTP status and body head); runs keep who cancelled
them; a dead letter keeps the note it was handled with. Open dead letters are grouped by
job and summary (``ix_dead_letters_open_groups``).
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

OPEN = "resolved_at IS NULL"


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("error_summary", sa.String(200), nullable=True))
        batch.add_column(sa.Column("cancelled_by", sa.String(200), nullable=True))
    with op.batch_alter_table("attempts") as batch:
        batch.add_column(sa.Column("error_summary", sa.String(200), nullable=True))
    with op.batch_alter_table("dead_letters") as batch:
        batch.add_column(sa.Column("error_summary", sa.String(200), nullable=True))
        batch.add_column(sa.Column("note", sa.String(1000), nullable=True))
        batch.create_index(
            "ix_dead_letters_open_groups",
            ["job_id", "error_summary"],
            unique=False,
            sqlite_where=sa.text(OPEN),
            postgresql_where=sa.text(OPEN),
        )


def downgrade() -> None:
    with op.batch_alter_table("dead_letters") as batch:
        batch.drop_index("ix_dead_letters_open_groups")
        batch.drop_column("note")
        batch.drop_column("error_summary")
    with op.batch_alter_table("attempts") as batch:
        batch.drop_column("error_summary")
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("cancelled_by")
        batch.drop_column("error_summary")
