"""the run path: batched events, fewer run indexes

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 20:00:00

Events: a row may hold a batch of one job's events from one transaction (``count``).
Runs: the full (status, queued_at) index gives way to a partial one over the statuses people
search among many (failed, cancelled, missed); the running-runs-by-worker index goes (a
heartbeat names the runs it holds).
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

PROBLEMS = "status IN ('failed', 'cancelled', 'missed')"


def upgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("count", sa.Integer(), nullable=False, server_default="1"))
    with op.batch_alter_table("runs") as batch:
        batch.drop_index("ix_runs_status_queued_at")
        batch.drop_index("ix_runs_worker")
        batch.create_index(
            "ix_runs_problems",
            ["status", "queued_at"],
            unique=False,
            sqlite_where=sa.text(PROBLEMS),
            postgresql_where=sa.text(PROBLEMS),
        )


def downgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.drop_index("ix_runs_problems")
        batch.create_index(
            "ix_runs_worker",
            ["worker_id"],
            unique=False,
            sqlite_where=sa.text("status = 'running'"),
            postgresql_where=sa.text("status = 'running'"),
        )
        batch.create_index("ix_runs_status_queued_at", ["status", "queued_at"], unique=False)
    with op.batch_alter_table("events") as batch:
        batch.drop_column("count")
