"""business calendars

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 04:00:00

A calendar (working weekdays, a country's public holidays, excluded and included dates)
belongs to a namespace, its name unique there. A job may name one (``calendar``) with a
``calendar_policy``; ``ix_jobs_calendar`` (of the jobs that name one) finds the jobs whose
``next_run`` a calendar's change recomputes, and those that keep it from being deleted.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from tickwork.store.tables import UTCDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(JSONB(), "postgresql")
CALENDAR_SET = sa.text("calendar IS NOT NULL")


def upgrade() -> None:
    op.create_table(
        "calendars",
        sa.Column("namespace", sa.String(63), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("weekdays", JSON, nullable=False),
        sa.Column("country", sa.String(10), nullable=True),
        sa.Column("subdivision", sa.String(20), nullable=True),
        sa.Column("exclude_dates", JSON, nullable=False),
        sa.Column("include_dates", JSON, nullable=False),
        sa.Column("description", sa.Text(), nullable=False, server_default=""),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("namespace", "name", name="pk_calendars"),
    )
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("calendar", sa.String(200), nullable=True))
        batch.add_column(sa.Column("calendar_policy", sa.String(20), nullable=True))
    op.create_index(
        "ix_jobs_calendar",
        "jobs",
        ["namespace", "calendar"],
        sqlite_where=CALENDAR_SET,
        postgresql_where=CALENDAR_SET,
    )


def downgrade() -> None:
    op.drop_index("ix_jobs_calendar", table_name="jobs")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("calendar_policy")
        batch.drop_column("calendar")
    op.drop_table("calendars")
