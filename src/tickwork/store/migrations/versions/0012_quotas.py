"""namespace quotas and rate limits

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 03:50:00

``namespace_quotas``: a namespace's limits (jobs, queued runs, running runs, runs per hour,
output bytes kept), set by admins; a namespace without a row has none. ``rate_limits``: the
rate limits of jobs (from their spec) and of a namespace's tags, each with the start times of
its current window, which the claim reads and extends in its transaction. ``api_tokens``
gains ``rate_limit``: the requests per second a token may make.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from tickwork.store.tables import UTCDateTime

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "namespace_quotas",
        sa.Column("namespace", sa.String(63), nullable=False),
        sa.Column("max_jobs", sa.Integer(), nullable=True),
        sa.Column("max_queued", sa.Integer(), nullable=True),
        sa.Column("max_running", sa.Integer(), nullable=True),
        sa.Column("runs_per_hour", sa.Integer(), nullable=True),
        sa.Column("max_output_bytes", sa.BigInteger(), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("namespace", name="pk_namespace_quotas"),
    )
    op.create_table(
        "rate_limits",
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("namespace", sa.String(63), nullable=False),
        sa.Column("job_id", sa.String(40), nullable=True),
        sa.Column("tag", sa.String(64), nullable=True),
        sa.Column("max", sa.Integer(), nullable=False),
        sa.Column("per", sa.String(40), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("starts", JSON, nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name="fk_rate_limits_job_id_jobs", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("key", name="pk_rate_limits"),
    )
    op.create_index("ix_rate_limits_namespace", "rate_limits", ["namespace"])
    op.create_index("ix_rate_limits_job_id", "rate_limits", ["job_id"])
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(sa.Column("rate_limit", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("rate_limit")
    op.drop_index("ix_rate_limits_job_id", table_name="rate_limits")
    op.drop_index("ix_rate_limits_namespace", table_name="rate_limits")
    op.drop_table("rate_limits")
    op.drop_table("namespace_quotas")
