"""namespaces and scoped tokens

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 00:40:00

Every job belongs to a namespace (existing jobs to ``default``) and its name is unique within
it; runs keep their job's namespace (lists and a limited worker's claim filter on it without a
join: ``ix_runs_namespace_queued_at``, of namespaces other than default only, so an install
that does not use namespaces writes no more index entries per run change;
``ix_runs_claimable_namespace``, of queued runs). Tokens may carry a
role per namespace (``scopes``) and the worker tags they allow; audit entries name the
namespace they touched. A downgrade renames each job outside ``default`` to
``namespace.name``, since names are unique again without namespaces.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

QUEUED = "status = 'queued'"
NOT_DEFAULT = "namespace <> 'default'"
JSON = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(
            sa.Column("namespace", sa.String(63), nullable=False, server_default="default")
        )
        batch.drop_constraint("uq_jobs_name", type_="unique")
        batch.create_unique_constraint("uq_jobs_namespace_name", ["namespace", "name"])
    with op.batch_alter_table("runs") as batch:
        batch.add_column(
            sa.Column("namespace", sa.String(63), nullable=False, server_default="default")
        )
        batch.create_index(
            "ix_runs_namespace_queued_at",
            ["namespace", "queued_at", "id"],
            unique=False,
            sqlite_where=sa.text(NOT_DEFAULT),
            postgresql_where=sa.text(NOT_DEFAULT),
        )
        batch.create_index(
            "ix_runs_claimable_namespace",
            ["namespace", "route", "priority", "queued_at"],
            unique=False,
            sqlite_where=sa.text(QUEUED),
            postgresql_where=sa.text(QUEUED),
        )
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(sa.Column("scopes", JSON, nullable=True))
        batch.add_column(sa.Column("worker_tags", JSON, nullable=True))
    with op.batch_alter_table("audit_log") as batch:
        batch.add_column(sa.Column("namespace", sa.String(63), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_column("namespace")
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("worker_tags")
        batch.drop_column("scopes")
    with op.batch_alter_table("runs") as batch:
        batch.drop_index("ix_runs_claimable_namespace")
        batch.drop_index("ix_runs_namespace_queued_at")
        batch.drop_column("namespace")
    # names are unique again without namespaces: a job outside default is renamed
    # ``namespace.name`` (a name may hold '.'), so the same name in two namespaces survives
    op.execute(
        sa.text(
            "UPDATE jobs SET name = substr(namespace || '.' || name, 1, 200) "
            "WHERE namespace <> 'default'"
        )
    )
    with op.batch_alter_table("jobs") as batch:
        batch.drop_constraint("uq_jobs_namespace_name", type_="unique")
        batch.create_unique_constraint("uq_jobs_name", ["name"])
        batch.drop_column("namespace")
