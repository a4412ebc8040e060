"""The schema, as SQLAlchemy Core tables; Alembic migrations are checked against it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UTCDateTime(sa.TypeDecorator[datetime]):
    """Aware UTC in, aware UTC out, on both dialects (SQLite stores naive UTC text)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, _dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)  # type: ignore[no-any-return]
        return value.astimezone(UTC)  # type: ignore[no-any-return]


JSONType = sa.JSON().with_variant(JSONB(), "postgresql")

NAMESPACE = sa.String(63)
QUEUED = "status = 'queued'"
NOT_DEFAULT = "namespace <> 'default'"
JOB_RETENTION = "retention_days IS NOT NULL OR retention_runs IS NOT NULL"
OUTPUT_KEPT = "NOT output_pruned"
CALENDAR_SET = "calendar IS NOT NULL"
JOB_WATCHED = (
    "sla_finish_within IS NOT NULL OR sla_max_duration IS NOT NULL OR expect_every IS NOT NULL"
)
ALERT_DUE = "status = 'pending'"
ONE_OFF = "one_off"
LISTED = "NOT one_off"
"""Jobs the job list shows: not the hidden rows of one-off runs (``jobs_sql.JOB``)."""
OWNED = "pipeline_id IS NOT NULL"
IN_PIPELINE = "pipeline_run_id IS NOT NULL"
AHEAD_PENDING = "ahead IN ('skip', 'cancel_previous') AND status = 'queued'"
"""Runs written ahead whose overlap is decided at their fire time, while queued."""
ACTIVE = "status IN ('queued', 'running')"

jobs = sa.Table(
    "jobs",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("namespace", NAMESPACE, nullable=False, server_default="default"),
    sa.Column("type", sa.String(10), nullable=False),
    sa.Column("spec", JSONType, nullable=False),
    sa.Column("schedule_type", sa.String(10)),
    sa.Column("route", sa.String(700), nullable=False),
    sa.Column("enabled", sa.Boolean, nullable=False, default=True),
    sa.Column("priority", sa.Integer, nullable=False, default=50),
    sa.Column("concurrency", sa.Integer, nullable=False, default=1),
    sa.Column("running_count", sa.Integer, nullable=False, default=0),
    sa.Column("next_run", UTCDateTime),
    sa.Column("last_run_status", sa.String(12)),
    sa.Column("last_run_at", UTCDateTime),
    # the job's own retention (spec.retention_days / retention_runs), as columns so the pruner
    # finds the few jobs that set one without reading every spec (domain/retention.py)
    sa.Column("retention_days", sa.Float),
    sa.Column("retention_runs", sa.Integer),
    # the business calendar the job names (of its namespace) and what a closed day does;
    # a calendar's change recomputes the next_run of the jobs found by ix_jobs_calendar
    sa.Column("calendar", sa.String(200)),
    sa.Column("calendar_policy", sa.String(20)),
    # what the leader's watch pass checks (spec.sla_* and expect_every, in seconds), as
    # columns so it finds the few jobs that set one (domain/watch.py, migration 0011)
    sa.Column("sla_finish_within", sa.Float),
    sa.Column("sla_max_duration", sa.Float),
    sa.Column("expect_every", sa.Float),
    # the hidden definition of a one-off run (POST /api/runs), named by its run's id: read by
    # the run path like any job's, left out of every job list and count (migration 0015)
    sa.Column("one_off", sa.Boolean, nullable=False, default=False, server_default=sa.false()),
    # the pipeline that owns the job (one of its tasks): changed only through the pipeline
    sa.Column("pipeline_id", sa.String(40), sa.ForeignKey("pipelines.id")),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Index(
        "ix_jobs_pipeline_id",
        "pipeline_id",
        sqlite_where=sa.text(OWNED),
        postgresql_where=sa.text(OWNED),
    ),
    sa.Index(
        "ix_jobs_calendar",
        "namespace",
        "calendar",
        sqlite_where=sa.text(CALENDAR_SET),
        postgresql_where=sa.text(CALENDAR_SET),
    ),
    sa.Index(
        "ix_jobs_retention",
        "id",
        sqlite_where=sa.text(JOB_RETENTION),
        postgresql_where=sa.text(JOB_RETENTION),
    ),
    sa.Index(
        "ix_jobs_due",
        "next_run",
        sqlite_where=sa.text("enabled"),
        postgresql_where=sa.text("enabled"),
    ),
    sa.Index(
        "ix_jobs_watched",
        "id",
        sqlite_where=sa.text(JOB_WATCHED),
        postgresql_where=sa.text(JOB_WATCHED),
    ),
    sa.Index(
        "ix_jobs_one_off",
        "created_at",
        sqlite_where=sa.text(ONE_OFF),
        postgresql_where=sa.text(ONE_OFF),
    ),
    sa.Index("ix_jobs_last_run_status", "last_run_status"),
    # the job list (hidden one-off rows left out) in its order, by name then namespace
    # (names are unique per namespace only), and each filter with that order, so a page
    # reads its own rows and a capped count reads the index alone; the unique constraint's
    # index serves a list of one namespace
    sa.Index(
        "ix_jobs_list",
        "name",
        "namespace",
        sqlite_where=sa.text(LISTED),
        postgresql_where=sa.text(LISTED),
    ),
    sa.Index(
        "ix_jobs_list_schedule_type",
        "schedule_type",
        "name",
        "namespace",
        sqlite_where=sa.text(LISTED),
        postgresql_where=sa.text(LISTED),
    ),
    sa.Index(
        "ix_jobs_list_status",
        "last_run_status",
        "name",
        "namespace",
        sqlite_where=sa.text(f"enabled AND {LISTED}"),
        postgresql_where=sa.text(f"enabled AND {LISTED}"),
    ),
    sa.Index(
        "ix_jobs_list_paused",
        "name",
        "namespace",
        sqlite_where=sa.text(f"NOT enabled AND {LISTED}"),
        postgresql_where=sa.text(f"NOT enabled AND {LISTED}"),
    ),
    sa.UniqueConstraint("namespace", "name"),
)

# name search (?q=, ILIKE '%…%') on PostgreSQL: trigrams (pg_trgm); SQLite scans
PG_ONLY = frozenset({"ix_jobs_name_trgm"})
sa.Index(
    "ix_jobs_name_trgm",
    jobs.c.name,
    postgresql_using="gin",
    postgresql_ops={"name": "gin_trgm_ops"},
).ddl_if(dialect="postgresql")

calendars = sa.Table(
    "calendars",
    metadata,
    sa.Column("namespace", NAMESPACE, primary_key=True),
    sa.Column("name", sa.String(200), primary_key=True),
    sa.Column("weekdays", JSONType, nullable=False),  # ISO weekdays, 1 = Monday
    sa.Column("country", sa.String(10)),  # public holidays (the holidays package)
    sa.Column("subdivision", sa.String(20)),
    sa.Column("exclude_dates", JSONType, nullable=False),  # ISO dates
    sa.Column("include_dates", JSONType, nullable=False),
    sa.Column("description", sa.Text, nullable=False, server_default=""),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

# Pipelines (domain/pipelines.py): a DAG of tasks run as one unit. Each task is a job owned by
# the pipeline (jobs.pipeline_id); the pipeline keeps the schedule and the task graph (its
# edges are not job_deps rows: standalone dependencies never fire a task).
pipelines = sa.Table(
    "pipelines",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("namespace", NAMESPACE, nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("spec", JSONType, nullable=False),
    sa.Column("schedule_type", sa.String(10)),
    sa.Column("enabled", sa.Boolean, nullable=False),
    sa.Column("next_run", UTCDateTime),
    sa.Column("calendar", sa.String(200)),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("namespace", "name"),
    sa.Index(
        "ix_pipelines_due",
        "next_run",
        sqlite_where=sa.text("enabled"),
        postgresql_where=sa.text("enabled"),
    ),
    sa.Index(
        "ix_pipelines_calendar",
        "namespace",
        "calendar",
        sqlite_where=sa.text(CALENDAR_SET),
        postgresql_where=sa.text(CALENDAR_SET),
    ),
)

# One run of a pipeline: its tasks' states (and the graph they started with) in ``tasks``,
# its task runs found by runs.pipeline_run_id. The row is the lock every change of the
# pipeline run is made under (store/locking.py).
pipeline_runs = sa.Table(
    "pipeline_runs",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column(
        "pipeline_id",
        sa.String(40),
        sa.ForeignKey("pipelines.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("namespace", NAMESPACE, nullable=False),
    sa.Column("status", sa.String(12), nullable=False),
    sa.Column("trigger", sa.String(12), nullable=False),
    sa.Column("scheduled_for", UTCDateTime),
    sa.Column("idempotency_key", sa.String(255), nullable=False),
    sa.Column("parameters", JSONType, nullable=False),
    sa.Column("tasks", JSONType, nullable=False),
    sa.Column("queued_at", UTCDateTime, nullable=False),
    sa.Column("started_at", UTCDateTime),
    sa.Column("finished_at", UTCDateTime),
    sa.Column("error", sa.Text),
    sa.UniqueConstraint("pipeline_id", "idempotency_key"),
    sa.Index(
        "ix_pipeline_runs_schedule_tick",
        "pipeline_id",
        "scheduled_for",
        unique=True,
        sqlite_where=sa.text("trigger = 'schedule'"),
        postgresql_where=sa.text("trigger = 'schedule'"),
    ),
    sa.Index("ix_pipeline_runs_pipeline_id_queued_at_id", "pipeline_id", "queued_at", "id"),
    sa.Index(
        "ix_pipeline_runs_active",
        "pipeline_id",
        "status",
        sqlite_where=sa.text(ACTIVE),
        postgresql_where=sa.text(ACTIVE),
    ),
)

job_tags = sa.Table(
    "job_tags",
    metadata,
    sa.Column(
        "job_id", sa.String(40), sa.ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("tag", sa.String(64), primary_key=True),
    # the job's name, namespace and whether lists show it (not a one-off run's hidden row),
    # written with the tag (a job's tags are rewritten with every change of the job): the
    # job list by tag reads ix_job_tags_list in the list's order, and no job row to count
    sa.Column("name", sa.String(200)),
    sa.Column("namespace", NAMESPACE),
    sa.Column("listed", sa.Boolean),
    sa.Index("ix_job_tags_tag", "tag", "job_id"),
    sa.Index(
        "ix_job_tags_list",
        "tag",
        "name",
        "namespace",
        sqlite_where=sa.text("listed"),
        postgresql_where=sa.text("listed"),
    ),
)

job_deps = sa.Table(
    "job_deps",
    metadata,
    sa.Column(
        "job_id", sa.String(40), sa.ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column(
        "depends_on_id",
        sa.String(40),
        sa.ForeignKey("jobs.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    # the upstream outcome that counts along the edge: success, failure or done
    sa.Column("condition", sa.String(8), nullable=False, server_default="success"),
    sa.Index("ix_job_deps_depends_on_id", "depends_on_id"),
)

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column(
        "job_id", sa.String(40), sa.ForeignKey("jobs.id", ondelete="CASCADE"), nullable=False
    ),
    # the job's namespace, kept on the run so lists and claims filter without a join
    sa.Column("namespace", NAMESPACE, nullable=False, server_default="default"),
    sa.Column("trigger", sa.String(12), nullable=False),
    sa.Column("scheduled_for", UTCDateTime),
    sa.Column("idempotency_key", sa.String(255), nullable=False),
    sa.Column("parameters", JSONType, nullable=False),
    sa.Column("status", sa.String(12), nullable=False),
    sa.Column("route", sa.String(700), nullable=False),
    sa.Column("priority", sa.Integer, nullable=False),
    sa.Column("attempt", sa.Integer, nullable=False, default=0),
    sa.Column("max_attempts", sa.Integer, nullable=False),
    sa.Column("timeout", sa.Float, nullable=False),
    sa.Column("bypass_concurrency", sa.Boolean, nullable=False, default=False),
    sa.Column("worker_id", sa.String(40)),
    sa.Column("fence", sa.BigInteger, nullable=False, default=0),
    sa.Column("lease_expires_at", UTCDateTime),
    sa.Column("ack_deadline", UTCDateTime),
    sa.Column("not_before", UTCDateTime),
    sa.Column("deadline_at", UTCDateTime),
    sa.Column("cancel_requested", sa.Boolean, nullable=False, default=False),
    sa.Column("queued_at", UTCDateTime, nullable=False),
    sa.Column("claimed_at", UTCDateTime),
    sa.Column("started_at", UTCDateTime),
    sa.Column("finished_at", UTCDateTime),
    sa.Column("duration", sa.Float),
    sa.Column("exit_code", sa.Integer),
    sa.Column("result", JSONType),
    sa.Column("error", sa.Text),
    sa.Column("error_summary", sa.String(200)),
    sa.Column("cancelled_by", sa.String(200)),
    sa.Column("upstream_run_ids", JSONType, nullable=False),
    # a run fired by its dependencies: each upstream run that fired it, {run_id, job,
    # status, error}, as the job's code sees it (ctx.upstream, TICKWORK_UPSTREAM)
    sa.Column("upstream", JSONType),
    # the pipeline run the run is a task of (store/pipeline_flow.py advances it)
    sa.Column("pipeline_run_id", sa.String(40)),
    # a run written ahead of its tick (``schedule_ahead``): its job's on_overlap then; a
    # ``skip`` or ``cancel_previous`` one is decided at its fire time (domain/overlap.py);
    # cleared when the run is claimed or requeued (an ordinary run from then on)
    sa.Column("ahead", sa.String(16)),
    sa.UniqueConstraint("job_id", "idempotency_key"),
    sa.Index(
        "ix_runs_pipeline_run_id",
        "pipeline_run_id",
        sqlite_where=sa.text(IN_PIPELINE),
        postgresql_where=sa.text(IN_PIPELINE),
    ),
    sa.Index(
        "ix_runs_schedule_tick",
        "job_id",
        "scheduled_for",
        unique=True,
        sqlite_where=sa.text("trigger = 'schedule'"),
        postgresql_where=sa.text("trigger = 'schedule'"),
    ),
    sa.Index(
        "ix_runs_active_job",
        "job_id",
        "status",
        sqlite_where=sa.text("status IN ('queued', 'running')"),
        postgresql_where=sa.text("status IN ('queued', 'running')"),
    ),
    sa.Index(
        "ix_runs_leases",
        "lease_expires_at",
        sqlite_where=sa.text("status = 'running'"),
        postgresql_where=sa.text("status = 'running'"),
    ),
    sa.Index(
        "ix_runs_ahead_pending",
        "not_before",
        sqlite_where=sa.text(AHEAD_PENDING),
        postgresql_where=sa.text(AHEAD_PENDING),
    ),
    sa.Index("ix_runs_job_queued", "job_id", "queued_at", "id"),
    sa.Index("ix_runs_queued_at", "queued_at", "id"),
    # the run list by start and by duration (migration 0019): runs with the value, in order
    sa.Index(
        "ix_runs_started_at",
        "started_at",
        "id",
        sqlite_where=sa.text("started_at IS NOT NULL"),
        postgresql_where=sa.text("started_at IS NOT NULL"),
    ),
    sa.Index(
        "ix_runs_duration",
        "duration",
        "id",
        sqlite_where=sa.text("duration IS NOT NULL"),
        postgresql_where=sa.text("duration IS NOT NULL"),
    ),
    # a list of other namespaces' runs; runs of default never enter it, so an install that
    # does not use namespaces writes no more index entries per run than before
    sa.Index(
        "ix_runs_namespace_queued_at",
        "namespace",
        "queued_at",
        "id",
        sqlite_where=sa.text(NOT_DEFAULT),
        postgresql_where=sa.text(NOT_DEFAULT),
    ),
    # Every run passes through queued, running and (mostly) completed, and every change of
    # status writes a new entry in each full index: a status index is kept only for the
    # statuses a person looks for among many (queued and running runs are the newest, and
    # completed ones the most common, so ix_runs_queued_at finds them at once).
    sa.Index(
        "ix_runs_problems",
        "status",
        "queued_at",
        sqlite_where=sa.text("status IN ('failed', 'cancelled', 'missed')"),
        postgresql_where=sa.text("status IN ('failed', 'cancelled', 'missed')"),
    ),
)

# the claim, in its order (priority DESC, queued_at, id) after the route: a claim of one
# route reads its first rows and stops (migration 0009)
sa.Index(
    "ix_runs_claimable",
    runs.c.route,
    runs.c.priority.desc(),
    runs.c.queued_at,
    runs.c.id,
    sqlite_where=sa.text(QUEUED),
    postgresql_where=sa.text(QUEUED),
)
# the same for a worker limited to some namespaces (a worker token's scopes)
sa.Index(
    "ix_runs_claimable_namespace",
    runs.c.namespace,
    runs.c.route,
    runs.c.priority.desc(),
    runs.c.queued_at,
    runs.c.id,
    sqlite_where=sa.text(QUEUED),
    postgresql_where=sa.text(QUEUED),
)

attempts = sa.Table(
    "attempts",
    metadata,
    sa.Column(
        "run_id", sa.String(40), sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("number", sa.Integer, primary_key=True),
    sa.Column("worker_id", sa.String(40)),
    sa.Column("fence", sa.BigInteger, nullable=False),
    sa.Column("status", sa.String(12), nullable=False),
    sa.Column("started_at", UTCDateTime, nullable=False),
    sa.Column("finished_at", UTCDateTime),
    sa.Column("exit_code", sa.Integer),
    sa.Column("error", sa.Text),
    sa.Column("error_summary", sa.String(200)),
    sa.Column("stdout", sa.Text, nullable=False, default=""),
    sa.Column("stderr", sa.Text, nullable=False, default=""),
    sa.Column("stdout_truncated", sa.Boolean, nullable=False, default=False),
    sa.Column("stderr_truncated", sa.Boolean, nullable=False, default=False),
    # output chunks appended so far (live run.log events carry each chunk's number as seq)
    sa.Column("stdout_chunks", sa.Integer, nullable=False, default=0, server_default="0"),
    sa.Column("stderr_chunks", sa.Integer, nullable=False, default=0, server_default="0"),
    # retention cleared stdout and stderr (domain/retention.py); the attempt itself stays
    sa.Column(
        "output_pruned", sa.Boolean, nullable=False, default=False, server_default=sa.false()
    ),
    sa.Index(
        "ix_attempts_output_kept",
        "started_at",
        sqlite_where=sa.text(OUTPUT_KEPT),
        postgresql_where=sa.text(OUTPUT_KEPT),
    ),
)

workers = sa.Table(
    "workers",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("hostname", sa.String(255), nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
    sa.Column("tags", JSONType, nullable=False),
    sa.Column("concurrency", sa.Integer, nullable=False),
    sa.Column("version", sa.String(40), nullable=False),
    sa.Column("status", sa.String(10), nullable=False),
    sa.Column("registered_at", UTCDateTime, nullable=False),
    sa.Column("last_heartbeat", UTCDateTime, nullable=False),
    sa.Index("ix_workers_status_heartbeat", "status", "last_heartbeat"),
)

dead_letters = sa.Table(
    "dead_letters",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column(
        "run_id", sa.String(40), sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column(
        "job_id", sa.String(40), sa.ForeignKey("jobs.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("error", sa.Text),
    sa.Column("error_summary", sa.String(200)),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("resolved_at", UTCDateTime),
    sa.Column("resolution", sa.String(20)),
    sa.Column("note", sa.String(1000)),
    sa.Index(
        "ix_dead_letters_open",
        "created_at",
        sqlite_where=sa.text("resolved_at IS NULL"),
        postgresql_where=sa.text("resolved_at IS NULL"),
    ),
    sa.Index("ix_dead_letters_run_id", "run_id"),
    sa.Index(
        "ix_dead_letters_open_groups",
        "job_id",
        "error_summary",
        sqlite_where=sa.text("resolved_at IS NULL"),
        postgresql_where=sa.text("resolved_at IS NULL"),
    ),
)

events = sa.Table(
    "events",
    metadata,
    sa.Column(
        "id",
        sa.BigInteger().with_variant(sa.Integer, "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    sa.Column("type", sa.String(40), nullable=False),
    sa.Column("job_id", sa.String(40)),
    sa.Column("run_id", sa.String(40)),
    sa.Column("data", JSONType, nullable=False),
    # events in the row: 1, or a batch of one job's events from one transaction (their
    # list is ``data``); store/database.py Outbox
    sa.Column("count", sa.Integer, nullable=False, default=1, server_default="1"),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Index("ix_events_created_at", "created_at"),
    sa.Index("ix_events_job", "job_id", "id"),
)

api_tokens = sa.Table(
    "api_tokens",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("role", sa.String(12), nullable=False),
    # namespace (or '*') → role; NULL: the role above in every namespace
    sa.Column("scopes", JSONType),
    # the only tags a worker using the token may register with; NULL: any
    sa.Column("worker_tags", JSONType),
    # requests per second the token may make (NULL: the server's TICKWORK_API_RATE_LIMIT)
    sa.Column("rate_limit", sa.Integer),
    sa.Column("hash", sa.String(128), nullable=False, unique=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime),
    sa.Column("revoked_at", UTCDateTime),
    sa.Column("last_used_at", UTCDateTime),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column(
        "id",
        sa.BigInteger().with_variant(sa.Integer, "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("role", sa.String(12)),
    sa.Column("action", sa.String(40), nullable=False),
    sa.Column("target", sa.String(255)),
    sa.Column("namespace", NAMESPACE),
    sa.Column("details", JSONType, nullable=False),
    sa.Index("ix_audit_log_at", "at"),
)

# A namespace's quotas (domain/quotas.py), set by admins; NULL: no limit. A namespace without
# a row has none. The row is also the lock its creates, triggers and claims count under.
namespace_quotas = sa.Table(
    "namespace_quotas",
    metadata,
    sa.Column("namespace", NAMESPACE, primary_key=True),
    sa.Column("max_jobs", sa.Integer),
    sa.Column("max_queued", sa.Integer),
    sa.Column("max_running", sa.Integer),
    sa.Column("runs_per_hour", sa.Integer),
    sa.Column("max_output_bytes", sa.BigInteger),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

# Rate limits of a job (``job:<id>``, from its spec) or of a namespace's tag
# (``tag:<namespace>:<tag>``), with the start times (epoch seconds) of their last window,
# updated by the claim that starts runs under them, in its transaction.
rate_limits = sa.Table(
    "rate_limits",
    metadata,
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("namespace", NAMESPACE, nullable=False),
    sa.Column("job_id", sa.String(40), sa.ForeignKey("jobs.id", ondelete="CASCADE")),
    sa.Column("tag", sa.String(64)),
    sa.Column("max", sa.Integer, nullable=False),
    sa.Column("per", sa.String(40), nullable=False),
    sa.Column("seconds", sa.Float, nullable=False),
    sa.Column("starts", JSONType, nullable=False),
    sa.Index("ix_rate_limits_namespace", "namespace"),
    sa.Index("ix_rate_limits_job_id", "job_id"),
)

# Run totals kept by the leader as runs finish (domain/totals.py): the overview's series and
# a job's counts read these, never the runs. ``projections`` holds how far into the event
# outbox each such projection has counted, moved in the same transaction as its totals.
run_hours = sa.Table(
    "run_hours",
    metadata,
    sa.Column("bucket", UTCDateTime, primary_key=True),
    sa.Column("status", sa.String(12), primary_key=True),
    sa.Column("runs", sa.BigInteger, nullable=False),
)

job_totals = sa.Table(
    "job_totals",
    metadata,
    # no foreign key: totals of a job deleted meanwhile must not fail the projection
    sa.Column("job_id", sa.String(40), primary_key=True),
    sa.Column("status", sa.String(12), primary_key=True),
    sa.Column("runs", sa.BigInteger, nullable=False),
    sa.Column("seconds", sa.Float, nullable=False),
    sa.Column("timed", sa.BigInteger, nullable=False),
)

projections = sa.Table(
    "projections",
    metadata,
    sa.Column("name", sa.String(40), primary_key=True),
    sa.Column("row_id", sa.BigInteger, nullable=False),
)

# Alerts (domain/alerts.py): channels and rules of a namespace, the alerts raised (an outbox
# the leader delivers from, one row per rule, channel, kind and subject), and the breaches
# the leader's watch pass found (one row each: the event it wrote is written once).
alert_channels = sa.Table(
    "alert_channels",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("namespace", NAMESPACE, nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("type", sa.String(10), nullable=False),
    # url and secret (values or {"$secret": NAME}), to: never shown by the API
    sa.Column("config", JSONType, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("namespace", "name"),
)

alert_rules = sa.Table(
    "alert_rules",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("namespace", NAMESPACE, nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("events", JSONType, nullable=False),
    sa.Column("jobs", JSONType, nullable=False),
    sa.Column("channels", JSONType, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("namespace", "name"),
)

alerts = sa.Table(
    "alerts",
    metadata,
    sa.Column(
        "id",
        sa.BigInteger().with_variant(sa.Integer, "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    sa.Column("namespace", NAMESPACE, nullable=False),
    sa.Column("rule", sa.String(200), nullable=False),
    sa.Column("channel", sa.String(200), nullable=False),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("subject", sa.String(255), nullable=False),
    sa.Column("job_id", sa.String(40)),
    sa.Column("run_id", sa.String(40)),
    sa.Column("payload", JSONType, nullable=False),
    sa.Column("status", sa.String(10), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("next_attempt_at", UTCDateTime),
    sa.Column("last_error", sa.String(500)),
    # every delivery attempt: [{"at", "ok", "error"}]
    sa.Column("history", JSONType, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("sent_at", UTCDateTime),
    sa.UniqueConstraint("namespace", "rule", "channel", "kind", "subject"),
    sa.Index(
        "ix_alerts_due",
        "next_attempt_at",
        sqlite_where=sa.text(ALERT_DUE),
        postgresql_where=sa.text(ALERT_DUE),
    ),
    sa.Index("ix_alerts_sent", "namespace", "rule", "channel", "sent_at"),
    sa.Index("ix_alerts_status", "status", "id"),
    sa.Index("ix_alerts_created_at", "created_at"),
)

breaches = sa.Table(
    "breaches",
    metadata,
    sa.Column("kind", sa.String(20), primary_key=True),
    sa.Column("subject", sa.String(255), primary_key=True),
    sa.Column("job_id", sa.String(40), nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Index("ix_breaches_at", "at"),
)
