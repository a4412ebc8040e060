"""retention: jobs' own limits, attempts whose output was cleared

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 22:00:00

Jobs: ``retention_days`` and ``retention_runs`` (from the spec), with a partial index over the
jobs that set either. Attempts: ``output_pruned``, and a partial index over the start times of
attempts whose output is still kept, which the pruner walks oldest first.
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

JOB_RETENTION = "retention_days IS NOT NULL OR retention_runs IS NOT NULL"
OUTPUT_KEPT = "NOT output_pruned"


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("retention_days", sa.Float(), nullable=True))
        batch.add_column(sa.Column("retention_runs", sa.Integer(), nullable=True))
        batch.create_index(
            "ix_jobs_retention",
            ["id"],
            unique=False,
            sqlite_where=sa.text(JOB_RETENTION),
            postgresql_where=sa.text(JOB_RETENTION),
        )
    with op.batch_alter_table("attempts") as batch:
        batch.add_column(
            sa.Column("output_pruned", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.create_index(
            "ix_attempts_output_kept",
            ["started_at"],
            unique=False,
            sqlite_where=sa.text(OUTPUT_KEPT),
            postgresql_where=sa.text(OUTPUT_KEPT),
        )


def downgrade() -> None:
    with op.batch_alter_table("attempts") as batch:
        batch.drop_index("ix_attempts_output_kept")
        batch.drop_column("output_pruned")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_index("ix_jobs_retention")
        batch.drop_column("retention_runs")
        batch.drop_column("retention_days")
