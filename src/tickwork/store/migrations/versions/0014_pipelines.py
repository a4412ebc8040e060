"""pipelines

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 06:40:00

A pipeline (a DAG of tasks defined, scheduled and run as one unit) belongs to a namespace,
its name unique there; each task is a job (``jobs.pipeline_id`` names its owner) with no
schedule of its own. A pipeline run groups the task runs of one trigger or tick
(``runs.pipeline_run_id``) and keeps each task's state and the task graph it started with.
``ix_pipelines_due`` is the scheduler's; ``ix_pipeline_runs_schedule_tick`` makes one tick
one pipeline run, as ``ix_runs_schedule_tick`` does for jobs.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from tickwork.store.tables import UTCDateTime

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(JSONB(), "postgresql")
CALENDAR_SET = sa.text("calendar IS NOT NULL")
OWNED = sa.text("pipeline_id IS NOT NULL")
IN_PIPELINE = sa.text("pipeline_run_id IS NOT NULL")
ACTIVE = sa.text("status IN ('queued', 'running')")
SCHEDULED = sa.text("trigger = 'schedule'")


def upgrade() -> None:
    op.create_table(
        "pipelines",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("namespace", sa.String(63), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("spec", JSON, nullable=False),
        sa.Column("schedule_type", sa.String(10), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("next_run", UTCDateTime(), nullable=True),
        sa.Column("calendar", sa.String(200), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_pipelines"),
        sa.UniqueConstraint("namespace", "name", name="uq_pipelines_namespace_name"),
    )
    op.create_index(
        "ix_pipelines_due",
        "pipelines",
        ["next_run"],
        sqlite_where=sa.text("enabled"),
        postgresql_where=sa.text("enabled"),
    )
    op.create_index(
        "ix_pipelines_calendar",
        "pipelines",
        ["namespace", "calendar"],
        sqlite_where=CALENDAR_SET,
        postgresql_where=CALENDAR_SET,
    )
    op.create_table(
        "pipeline_runs",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("pipeline_id", sa.String(40), nullable=False),
        sa.Column("namespace", sa.String(63), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("trigger", sa.String(12), nullable=False),
        sa.Column("scheduled_for", UTCDateTime(), nullable=True),
        sa.Column("idempotency_key", sa.String(255), nullable=False),
        sa.Column("parameters", JSON, nullable=False),
        sa.Column("tasks", JSON, nullable=False),
        sa.Column("queued_at", UTCDateTime(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=True),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["pipeline_id"],
            ["pipelines.id"],
            name="fk_pipeline_runs_pipeline_id_pipelines",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_pipeline_runs"),
        sa.UniqueConstraint(
            "pipeline_id", "idempotency_key", name="uq_pipeline_runs_pipeline_id_idempotency_key"
        ),
    )
    op.create_index(
        "ix_pipeline_runs_schedule_tick",
        "pipeline_runs",
        ["pipeline_id", "scheduled_for"],
        unique=True,
        sqlite_where=SCHEDULED,
        postgresql_where=SCHEDULED,
    )
    op.create_index(
        "ix_pipeline_runs_pipeline_id_queued_at_id",
        "pipeline_runs",
        ["pipeline_id", "queued_at", "id"],
    )
    op.create_index(
        "ix_pipeline_runs_active",
        "pipeline_runs",
        ["pipeline_id", "status"],
        sqlite_where=ACTIVE,
        postgresql_where=ACTIVE,
    )
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("pipeline_id", sa.String(40), nullable=True))
        batch.create_foreign_key(
            "fk_jobs_pipeline_id_pipelines", "pipelines", ["pipeline_id"], ["id"]
        )
    op.create_index(
        "ix_jobs_pipeline_id",
        "jobs",
        ["pipeline_id"],
        sqlite_where=OWNED,
        postgresql_where=OWNED,
    )
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("pipeline_run_id", sa.String(40), nullable=True))
    op.create_index(
        "ix_runs_pipeline_run_id",
        "runs",
        ["pipeline_run_id"],
        sqlite_where=IN_PIPELINE,
        postgresql_where=IN_PIPELINE,
    )


def downgrade() -> None:
    op.drop_index("ix_runs_pipeline_run_id", table_name="runs")
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("pipeline_run_id")
    op.drop_index("ix_jobs_pipeline_id", table_name="jobs")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_constraint("fk_jobs_pipeline_id_pipelines", type_="foreignkey")
        batch.drop_column("pipeline_id")
    op.drop_index("ix_pipeline_runs_active", table_name="pipeline_runs")
    op.drop_index("ix_pipeline_runs_pipeline_id_queued_at_id", table_name="pipeline_runs")
    op.drop_index("ix_pipeline_runs_schedule_tick", table_name="pipeline_runs")
    op.drop_table("pipeline_runs")
    op.drop_index("ix_pipelines_calendar", table_name="pipelines")
    op.drop_index("ix_pipelines_due", table_name="pipelines")
    op.drop_table("pipelines")
