"""one-off runs

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 06:40:00

A one-off run (``POST /api/runs`` with an inline spec) keeps its definition in a hidden job
row, ``one_off`` true, named by the run's id: the run path (claims, reports, retries, the
reaper) reads a run's definition from ``jobs`` as for any run, while job lists, counts, the
DAG, exports and the ``max_jobs`` quota leave these rows out. ``ix_jobs_one_off`` (of the
hidden rows, by creation time) is how retention finds the old ones, each removed with its run.
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

ONE_OFF = sa.text("one_off")


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(
            sa.Column("one_off", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.create_index(
        "ix_jobs_one_off",
        "jobs",
        ["created_at"],
        sqlite_where=ONE_OFF,
        postgresql_where=ONE_OFF,
    )


def downgrade() -> None:
    op.drop_index("ix_jobs_one_off", table_name="jobs")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("one_off")
