"""alerts: channels, rules, the alerts outbox, breaches; jobs' SLA columns

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 03:30:00

``alert_channels`` and ``alert_rules`` of a namespace; ``alerts``, the outbox the leader
delivers from (unique per rule, channel, kind and subject: one alert per run and event);
``breaches``, one row per SLA breach or silent spell the leader found (its event is written
once). Jobs get ``sla_finish_within``, ``sla_max_duration`` and ``expect_every`` with a
partial index over the jobs that set one. The alert pass's place in the event outbox starts
at its last row: history raises nothing.
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

JOB_WATCHED = (
    "sla_finish_within IS NOT NULL OR sla_max_duration IS NOT NULL OR expect_every IS NOT NULL"
)
ALERT_DUE = "status = 'pending'"
JSON = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")
NAMESPACE = sa.String(63)


def _when() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("sla_finish_within", sa.Float(), nullable=True))
        batch.add_column(sa.Column("sla_max_duration", sa.Float(), nullable=True))
        batch.add_column(sa.Column("expect_every", sa.Float(), nullable=True))
        batch.create_index(
            "ix_jobs_watched",
            ["id"],
            unique=False,
            sqlite_where=sa.text(JOB_WATCHED),
            postgresql_where=sa.text(JOB_WATCHED),
        )
    for table, columns in (
        (
            "alert_channels",
            [
                sa.Column("type", sa.String(10), nullable=False),
                sa.Column("config", JSON, nullable=False),
            ],
        ),
        (
            "alert_rules",
            [
                sa.Column("events", JSON, nullable=False),
                sa.Column("jobs", JSON, nullable=False),
                sa.Column("channels", JSON, nullable=False),
            ],
        ),
    ):
        op.create_table(
            table,
            sa.Column("id", sa.String(40), nullable=False),
            sa.Column("namespace", NAMESPACE, nullable=False),
            sa.Column("name", sa.String(200), nullable=False),
            *columns,
            sa.Column("created_at", _when(), nullable=False),
            sa.Column("updated_at", _when(), nullable=False),
            sa.PrimaryKeyConstraint("id", name=f"pk_{table}"),
            sa.UniqueConstraint("namespace", "name", name=f"uq_{table}_namespace_name"),
        )
    op.create_table(
        "alerts",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
            autoincrement=True,
        ),
        sa.Column("namespace", NAMESPACE, nullable=False),
        sa.Column("rule", sa.String(200), nullable=False),
        sa.Column("channel", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("subject", sa.String(255), nullable=False),
        sa.Column("job_id", sa.String(40), nullable=True),
        sa.Column("run_id", sa.String(40), nullable=True),
        sa.Column("payload", JSON, nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", _when(), nullable=True),
        sa.Column("last_error", sa.String(500), nullable=True),
        sa.Column("history", JSON, nullable=False),
        sa.Column("created_at", _when(), nullable=False),
        sa.Column("sent_at", _when(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_alerts"),
        sa.UniqueConstraint(
            "namespace",
            "rule",
            "channel",
            "kind",
            "subject",
            name="uq_alerts_namespace_rule_channel_kind_subject",
        ),
    )
    op.create_index(
        "ix_alerts_due",
        "alerts",
        ["next_attempt_at"],
        sqlite_where=sa.text(ALERT_DUE),
        postgresql_where=sa.text(ALERT_DUE),
    )
    op.create_index("ix_alerts_sent", "alerts", ["namespace", "rule", "channel", "sent_at"])
    op.create_index("ix_alerts_status", "alerts", ["status", "id"])
    op.create_index("ix_alerts_created_at", "alerts", ["created_at"])
    op.create_table(
        "breaches",
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("subject", sa.String(255), nullable=False),
        sa.Column("job_id", sa.String(40), nullable=False),
        sa.Column("at", _when(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "subject", name="pk_breaches"),
    )
    op.create_index("ix_breaches_at", "breaches", ["at"])
    bind = op.get_bind()
    last = bind.execute(sa.text("SELECT coalesce(max(id), 0) FROM events")).scalar_one()
    bind.execute(
        sa.text("INSERT INTO projections (name, row_id) VALUES ('alerts', :at)"), {"at": int(last)}
    )


def downgrade() -> None:
    op.get_bind().execute(sa.text("DELETE FROM projections WHERE name = 'alerts'"))
    op.drop_table("breaches")
    op.drop_table("alerts")
    op.drop_table("alert_rules")
    op.drop_table("alert_channels")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_index("ix_jobs_watched")
        batch.drop_column("expect_every")
        batch.drop_column("sla_max_duration")
        batch.drop_column("sla_finish_within")
