"""indexes for the job list at a million jobs

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 22:30:00

``schedule_type`` with the list's order (name); on PostgreSQL a trigram index (pg_trgm, a
trusted extension the database owner may create) for name search.
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.create_index("ix_jobs_schedule_type_name", ["schedule_type", "name"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
        op.create_index(
            "ix_jobs_name_trgm",
            "jobs",
            ["name"],
            unique=False,
            postgresql_using="gin",
            postgresql_ops={"name": "gin_trgm_ops"},
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_jobs_name_trgm", table_name="jobs")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_index("ix_jobs_schedule_type_name")
