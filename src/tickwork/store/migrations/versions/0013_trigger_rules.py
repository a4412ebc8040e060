"""trigger rules

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 06:40:00

``job_deps.condition``: the upstream outcome that counts along an edge (``success``, as every
edge before, ``failure`` or ``done``). ``runs.upstream``: for a run fired by its dependencies,
the upstream runs that fired it with their status and error, handed to the job's code.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("job_deps") as batch:
        batch.add_column(
            sa.Column("condition", sa.String(8), nullable=False, server_default="success")
        )
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("upstream", JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("upstream")
    with op.batch_alter_table("job_deps") as batch:
        batch.drop_column("condition")
