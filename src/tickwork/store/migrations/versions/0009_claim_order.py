"""claim indexes in the claim's order

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 02:00:00

The claim reads queued runs ``ORDER BY priority DESC, queued_at, id``; its indexes held
``(route, priority, queued_at)``, an order no scan could give, so every claim sorted every
queued run of its routes (on PostgreSQL 175 ms a claim at 50,000 queued, sorting on disk).
Now they hold the claim's own order after the route (and namespace): a claim of one route
reads its first rows and stops.
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

QUEUED = sa.text("status = 'queued'")
ORDER = [sa.text("priority DESC"), sa.text("queued_at"), sa.text("id")]


def _swap(new: bool) -> None:
    with op.batch_alter_table("runs") as batch:
        batch.drop_index("ix_runs_claimable")
        batch.drop_index("ix_runs_claimable_namespace")
    lead = ORDER if new else [sa.text("priority"), sa.text("queued_at")]
    op.create_index(
        "ix_runs_claimable",
        "runs",
        [sa.text("route"), *lead],
        sqlite_where=QUEUED,
        postgresql_where=QUEUED,
    )
    op.create_index(
        "ix_runs_claimable_namespace",
        "runs",
        [sa.text("namespace"), sa.text("route"), *lead],
        sqlite_where=QUEUED,
        postgresql_where=QUEUED,
    )


def upgrade() -> None:
    _swap(new=True)


def downgrade() -> None:
    _swap(new=False)
