"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-23 19:17:24.822563
"""

from alembic import op
import sqlalchemy as sa
import tickwork.store.tables
from sqlalchemy.dialects import postgresql

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('api_tokens',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=12), nullable=False),
    sa.Column('hash', sa.String(length=128), nullable=False),
    sa.Column('created_at', tickwork.store.tables.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', tickwork.store.tables.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', tickwork.store.tables.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_used_at', tickwork.store.tables.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
    sa.UniqueConstraint('hash', name=op.f('uq_api_tokens_hash'))
    )
    op.create_table('audit_log',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('at', tickwork.store.tables.UTCDateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=12), nullable=True),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('target', sa.String(length=255), nullable=True),
    sa.Column('details', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index('ix_audit_log_at', ['at'], unique=False)

    op.create_table('events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('type', sa.String(length=40), nullable=False),
    sa.Column('job_id', sa.String(length=40), nullable=True),
    sa.Column('run_id', sa.String(length=40), nullable=True),
    sa.Column('data', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', tickwork.store.tables.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_events'))
    )
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.create_index('ix_events_created_at', ['created_at'], unique=False)
        batch_op.create_index('ix_events_job', ['job_id', 'id'], unique=False)

    op.create_table('jobs',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('type', sa.String(length=10), nullable=False),
    sa.Column('spec', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('schedule_type', sa.String(length=10), nullable=True),
    sa.Column('route', sa.String(length=700), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('concurrency', sa.Integer(), nullable=False),
    sa.Column('running_count', sa.Integer(), nullable=False),
    sa.Column('next_run', tickwork.store.tables.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_run_status', sa.String(length=12), nullable=True),
    sa.Column('last_run_at', tickwork.store.tables.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', tickwork.store.tables.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', tickwork.store.tables.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_jobs')),
    sa.UniqueConstraint('name', name=op.f('uq_jobs_name'))
    )
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.create_index('ix_jobs_due', ['next_run'], unique=False, sqlite_where=sa.text('enabled'), postgresql_where=sa.text('enabled'))
        batch_op.create_index('ix_jobs_last_run_status', ['last_run_status'], unique=False)

    op.create_table('workers',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('hostname', sa.String(length=255), nullable=False),
    sa.Column('pid', sa.Integer(), nullable=False),
    sa.Column('tags', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('concurrency', sa.Integer(), nullable=False),
    sa.Column('version', sa.String(length=40), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('registered_at', tickwork.store.tables.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_heartbeat', tickwork.store.tables.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_workers'))
    )
    with op.batch_alter_table('workers', schema=None) as batch_op:
        batch_op.create_index('ix_workers_status_heartbeat', ['status', 'last_heartbeat'], unique=False)

    op.create_table('job_deps',
    sa.Column('job_id', sa.String(length=40), nullable=False),
    sa.Column('depends_on_id', sa.String(length=40), nullable=False),
    sa.ForeignKeyConstraint(['depends_on_id'], ['jobs.id'], name=op.f('fk_job_deps_depends_on_id_jobs'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['job_id'], ['jobs.id'], name=op.f('fk_job_deps_job_id_jobs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('job_id', 'depends_on_id', name=op.f('pk_job_deps'))
    )
    with op.batch_alter_table('job_deps', schema=None) as batch_op:
        batch_op.create_index('ix_job_deps_depends_on_id', ['depends_on_id'], unique=False)

    op.create_table('job_tags',
    sa.Column('job_id', sa.String(length=40), nullable=False),
    sa.Column('tag', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['job_id'], ['jobs.id'], name=op.f('fk_job_tags_job_id_jobs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('job_id', 'tag', name=op.f('pk_job_tags'))
    )
    with op.batch_alter_table('job_tags', schema=None) as batch_op:
        batch_op.create_index('ix_job_tags_tag', ['tag', 'job_id'], unique=False)

    op.create_table('runs',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('job_id', sa.String(length=40), nullable=False),
    sa.Column('trigger', sa.String(length=12), nullable=False),
    sa.Column('scheduled_for', tickwork.store.tables.UTCDateTime(timezone=True), nullable=True),
    sa.Column('idempotency_key', sa.String(length=255), nullable=False),
    sa.Column('parameters', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('route', sa.String(length=700), nullable=False),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('max_attempts', sa.Integer(), nullable=False),
    sa.Column('timeout', sa.Float(), nullable=False),
    sa.Column('bypass_concurrency', sa.Boolean(), nullable=False),
    sa.Column('worker_id', sa.String(length=40), nullable=True),
    sa.Column('fence', sa.BigInteger(), nullable=False),
    sa.Column('lease_expires_at', tickwork.store.tables.UTCDateTime(timezone=True), nullable=True),
    sa.Column('ack_deadline', tickwork.store.tables.UTCDateTime(timezone=True), nullable=True),
    sa.Column('not_before', tickwork.store.tables.UTCDateTime(timezone=True), nullable=True),
    sa.Column('deadline_at', tickwork.store.tables.UTCDateTime(timezone=True), nullable=True),
    sa.Column('cancel_requested', sa.Boolean(), nullable=False),
    sa.Column('queued_at', tickwork.store.tables.UTCDateTime(timezone=True), nullable=False),
    sa.Column('claimed_at', tickwork.store.tables.UTCDateTime(timezone=True), nullable=True),
    sa.Column('started_at', tickwork.store.tables.UTCDateTime(timezone=True), nullable=True),
    sa.Column('finished_at', tickwork.store.tables.UTCDateTime(timezone=True), nullable=True),
    sa.Column('duration', sa.Float(), nullable=True),
    sa.Column('exit_code', sa.Integer(), nullable=True),
    sa.Column('result', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('upstream_run_ids', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['job_id'], ['jobs.id'], name=op.f('fk_runs_job_id_jobs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_runs')),
    sa.UniqueConstraint('job_id', 'idempotency_key', name=op.f('uq_runs_job_id_idempotency_key'))
    )
    with op.batch_alter_table('runs', schema=None) as batch_op:
        batch_op.create_index('ix_runs_active_job', ['job_id', 'status'], unique=False, sqlite_where=sa.text("status IN ('queued', 'running')"), postgresql_where=sa.text("status IN ('queued', 'running')"))
        batch_op.create_index('ix_runs_claimable', ['route', 'priority', 'queued_at'], unique=False, sqlite_where=sa.text("status = 'queued'"), postgresql_where=sa.text("status = 'queued'"))
        batch_op.create_index('ix_runs_job_queued', ['job_id', 'queued_at', 'id'], unique=False)
        batch_op.create_index('ix_runs_leases', ['lease_expires_at'], unique=False, sqlite_where=sa.text("status = 'running'"), postgresql_where=sa.text("status = 'running'"))
        batch_op.create_index('ix_runs_queued_at', ['queued_at', 'id'], unique=False)
        batch_op.create_index('ix_runs_schedule_tick', ['job_id', 'scheduled_for'], unique=True, sqlite_where=sa.text("trigger = 'schedule'"), postgresql_where=sa.text("trigger = 'schedule'"))
        batch_op.create_index('ix_runs_status_queued_at', ['status', 'queued_at'], unique=False)
        batch_op.create_index('ix_runs_worker', ['worker_id'], unique=False, sqlite_where=sa.text("status = 'running'"), postgresql_where=sa.text("status = 'running'"))

    op.create_table('attempts',
    sa.Column('run_id', sa.String(length=40), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('worker_id', sa.String(length=40), nullable=True),
    sa.Column('fence', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('started_at', tickwork.store.tables.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', tickwork.store.tables.UTCDateTime(timezone=True), nullable=True),
    sa.Column('exit_code', sa.Integer(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('stdout', sa.Text(), nullable=False),
    sa.Column('stderr', sa.Text(), nullable=False),
    sa.Column('stdout_truncated', sa.Boolean(), nullable=False),
    sa.Column('stderr_truncated', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], name=op.f('fk_attempts_run_id_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('run_id', 'number', name=op.f('pk_attempts'))
    )
    op.create_table('dead_letters',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('run_id', sa.String(length=40), nullable=False),
    sa.Column('job_id', sa.String(length=40), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('created_at', tickwork.store.tables.UTCDateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', tickwork.store.tables.UTCDateTime(timezone=True), nullable=True),
    sa.Column('resolution', sa.String(length=20), nullable=True),
    sa.ForeignKeyConstraint(['job_id'], ['jobs.id'], name=op.f('fk_dead_letters_job_id_jobs'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], name=op.f('fk_dead_letters_run_id_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dead_letters'))
    )
    with op.batch_alter_table('dead_letters', schema=None) as batch_op:
        batch_op.create_index('ix_dead_letters_open', ['created_at'], unique=False, sqlite_where=sa.text('resolved_at IS NULL'), postgresql_where=sa.text('resolved_at IS NULL'))
        batch_op.create_index('ix_dead_letters_run_id', ['run_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('dead_letters', schema=None) as batch_op:
        batch_op.drop_index('ix_dead_letters_run_id')
        batch_op.drop_index('ix_dead_letters_open', sqlite_where=sa.text('resolved_at IS NULL'), postgresql_where=sa.text('resolved_at IS NULL'))

    op.drop_table('dead_letters')
    op.drop_table('attempts')
    with op.batch_alter_table('runs', schema=None) as batch_op:
        batch_op.drop_index('ix_runs_worker', sqlite_where=sa.text("status = 'running'"), postgresql_where=sa.text("status = 'running'"))
        batch_op.drop_index('ix_runs_status_queued_at')
        batch_op.drop_index('ix_runs_schedule_tick', sqlite_where=sa.text("trigger = 'schedule'"), postgresql_where=sa.text("trigger = 'schedule'"))
        batch_op.drop_index('ix_runs_queued_at')
        batch_op.drop_index('ix_runs_leases', sqlite_where=sa.text("status = 'running'"), postgresql_where=sa.text("status = 'running'"))
        batch_op.drop_index('ix_runs_job_queued')
        batch_op.drop_index('ix_runs_claimable', sqlite_where=sa.text("status = 'queued'"), postgresql_where=sa.text("status = 'queued'"))
        batch_op.drop_index('ix_runs_active_job', sqlite_where=sa.text("status IN ('queued', 'running')"), postgresql_where=sa.text("status IN ('queued', 'running')"))

    op.drop_table('runs')
    with op.batch_alter_table('job_tags', schema=None) as batch_op:
        batch_op.drop_index('ix_job_tags_tag')

    op.drop_table('job_tags')
    with op.batch_alter_table('job_deps', schema=None) as batch_op:
        batch_op.drop_index('ix_job_deps_depends_on_id')

    op.drop_table('job_deps')
    with op.batch_alter_table('workers', schema=None) as batch_op:
        batch_op.drop_index('ix_workers_status_heartbeat')

    op.drop_table('workers')
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_index('ix_jobs_last_run_status')
        batch_op.drop_index('ix_jobs_due', sqlite_where=sa.text('enabled'), postgresql_where=sa.text('enabled'))

    op.drop_table('jobs')
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_index('ix_events_job')
        batch_op.drop_index('ix_events_created_at')

    op.drop_table('events')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_log_at')

    op.drop_table('audit_log')
    op.drop_table('api_tokens')
