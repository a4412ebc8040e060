"""the run list's other orders, indexed

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-02 14:05:00

The run list sorts by ``queued_at`` (indexed), ``started_at`` or ``duration``; the last two
sorted every matching run for each page (at 10,000,000 runs, seconds a page). These partial
indexes hold the runs that have the value, in the list's order (the id breaks ties): a page
walks them, forwards or backwards, and stops at its size. Runs without the value (not started,
not finished) come last in the list and are read apart. The index entries are written when a
run starts and finishes, not when it is queued or claimed.
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

INDEXES = [
    ("ix_runs_started_at", "started_at"),
    ("ix_runs_duration", "duration"),
]


def upgrade() -> None:
    for name, column in INDEXES:
        where = sa.text(f"{column} IS NOT NULL")
        op.create_index(
            name, "runs", [column, "id"], sqlite_where=where, postgresql_where=where
        )


def downgrade() -> None:
    for name, _ in reversed(INDEXES):
        op.drop_index(name, table_name="runs")
