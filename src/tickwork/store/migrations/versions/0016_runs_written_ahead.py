"""runs written ahead of their tick

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02 10:00:00

The scheduler writes a tick's runs up to ``schedule_ahead`` seconds before the tick, each
claimable from its fire time (``not_before``), so that at the top of a minute nothing has to
be written. ``runs.ahead`` is the job's ``on_overlap`` on a run written ahead (NULL on every
other run, and cleared when it is claimed or requeued): a ``skip`` or ``cancel_previous`` one
waits for its overlap decision until its fire time. ``ix_runs_ahead_pending`` (those, while queued, by fire time) is how the
scheduler's pass at the tick finds the ones that came due.
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

PENDING = sa.text("ahead IN ('skip', 'cancel_previous') AND status = 'queued'")


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("ahead", sa.String(16), nullable=True))
    op.create_index(
        "ix_runs_ahead_pending",
        "runs",
        ["not_before"],
        sqlite_where=PENDING,
        postgresql_where=PENDING,
    )


def downgrade() -> None:
    op.drop_index("ix_runs_ahead_pending", table_name="runs")
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("ahead")
