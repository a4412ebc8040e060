"""run totals: per hour and per job, kept as runs finish

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 22:10:00

``run_hours`` (the overview's series and failures), ``job_totals`` (a job's counts and mean
duration) and ``projections`` (how far into the event outbox the totals have counted). Filled
from the runs there are (per job and per hour), and the outbox position from its last row.
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

FINISHED = ("completed", "failed", "cancelled", "missed")


def upgrade() -> None:
    op.create_table(
        "run_hours",
        sa.Column("bucket", sa.DateTime(timezone=True), primary_key=True),
        sa.Column("status", sa.String(12), primary_key=True),
        sa.Column("runs", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "job_totals",
        sa.Column("job_id", sa.String(40), primary_key=True),
        sa.Column("status", sa.String(12), primary_key=True),
        sa.Column("runs", sa.BigInteger(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("timed", sa.BigInteger(), nullable=False),
    )
    projections = op.create_table(
        "projections",
        sa.Column("name", sa.String(40), primary_key=True),
        sa.Column("row_id", sa.BigInteger(), nullable=False),
    )
    bind = op.get_bind()
    finished = ", ".join(f"'{s}'" for s in FINISHED)
    bind.execute(
        sa.text(
            "INSERT INTO job_totals (job_id, status, runs, seconds, timed) "
            "SELECT job_id, status, count(*), coalesce(sum(duration), 0), count(duration) "
            f"FROM runs WHERE status IN ({finished}) GROUP BY job_id, status"
        )
    )
    at = "coalesce(finished_at, queued_at)"
    hour = (
        f"strftime('%Y-%m-%d %H:00:00.000000', {at})"  # the text SQLAlchemy stores on SQLite
        if bind.dialect.name == "sqlite"
        else f"date_trunc('hour', {at})"
    )
    bind.execute(
        sa.text(
            "INSERT INTO run_hours (bucket, status, runs) "
            f"SELECT {hour}, status, count(*) FROM runs WHERE status IN ({finished}) "
            f"GROUP BY {hour}, status"
        )
    )
    last = bind.execute(sa.text("SELECT coalesce(max(id), 0) FROM events")).scalar_one()
    op.bulk_insert(projections, [{"name": "run_totals", "row_id": int(last)}])


def downgrade() -> None:
    op.drop_table("projections")
    op.drop_table("job_totals")
    op.drop_table("run_hours")
