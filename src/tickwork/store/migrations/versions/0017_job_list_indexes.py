"""the job list's indexes, in its order

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02 10:50:00

The job list orders by name, then namespace (names are unique per namespace only; a cursor
of the name alone skipped a job named like the last of a page in another namespace). With
namespaces no index gave a list of every namespace that order, and at a million jobs each
page sorted them all (0.6 s). These partial indexes leave out the hidden rows of one-off runs
(``NOT one_off``, as every list does), so a page walks its rows in order and a capped count
reads the index alone: the whole list, and the list by schedule kind, by last status
(enabled jobs) and of paused jobs. ``ix_jobs_schedule_type_name`` gives way to the first of
them.
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

LISTED = "NOT one_off"
INDEXES = [
    ("ix_jobs_list", ["name", "namespace"], LISTED),
    ("ix_jobs_list_schedule_type", ["schedule_type", "name", "namespace"], LISTED),
    ("ix_jobs_list_status", ["last_run_status", "name", "namespace"], f"enabled AND {LISTED}"),
    ("ix_jobs_list_paused", ["name", "namespace"], f"NOT enabled AND {LISTED}"),
]


def upgrade() -> None:
    for name, columns, where in INDEXES:
        op.create_index(
            name, "jobs", columns, sqlite_where=sa.text(where), postgresql_where=sa.text(where)
        )
    op.drop_index("ix_jobs_schedule_type_name", table_name="jobs")


def downgrade() -> None:
    op.create_index("ix_jobs_schedule_type_name", "jobs", ["schedule_type", "name"])
    for name, _, _ in reversed(INDEXES):
        op.drop_index(name, table_name="jobs")
