"""What the leader's watch pass reads (jobs with an SLA or ``expect_every``, their recent
runs, queued runs per namespace) and writes: one ``breaches`` row per breach, with its event
in the same transaction, so a breach is announced once however many passes see it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from tickwork.domain.watch import Breach, RunTimes, WatchedJob
from tickwork.store import tables as t
from tickwork.store.database import Database
from tickwork.store.run_writes import not_waiting

J = t.jobs.c
R = t.runs.c
B = t.breaches.c
RUNS_PER_JOB = 500
"""Recent runs of one job the watch pass looks at."""


class WatchRows:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def watched_jobs(self, *, after: str, limit: int) -> list[WatchedJob]:
        """Enabled jobs with an SLA or ``expect_every``, by id after ``after``."""
        watched = sa.or_(
            J.sla_finish_within.isnot(None),
            J.sla_max_duration.isnot(None),
            J.expect_every.isnot(None),
        )
        stmt = (
            sa.select(
                J.id,
                J.name,
                J.namespace,
                J.created_at,
                J.sla_finish_within,
                J.sla_max_duration,
                J.expect_every,
            )
            .where(watched, J.id > after, J.enabled)
            .order_by(J.id)
            .limit(limit)
        )
        async with self.db.read() as conn:
            rows = (await conn.execute(stmt)).all()
        return [
            WatchedJob(
                r.id,
                r.name,
                r.namespace,
                r.created_at,
                r.sla_finish_within,
                r.sla_max_duration,
                r.expect_every,
            )
            for r in rows
        ]

    async def recent_runs(self, job_id: str, *, since: datetime) -> list[RunTimes]:
        """The job's runs queued since then (newest first, at most ``RUNS_PER_JOB``)."""
        stmt = (
            sa.select(R.id, R.status, R.queued_at, R.scheduled_for, R.started_at, R.finished_at)
            .where(R.job_id == job_id, R.queued_at >= since)
            .order_by(R.queued_at.desc(), R.id.desc())
            .limit(RUNS_PER_JOB)
        )
        async with self.db.read() as conn:
            rows = (await conn.execute(stmt)).all()
        return [
            RunTimes(r.id, r.status, r.queued_at, r.scheduled_for, r.started_at, r.finished_at)
            for r in rows
        ]

    async def last_success(self, job_id: str) -> datetime | None:
        """When the job's newest successful run finished (None: none has)."""
        stmt = (
            sa.select(R.finished_at)
            .where(R.job_id == job_id, R.status == "completed")
            .order_by(R.queued_at.desc(), R.id.desc())
            .limit(1)
        )
        async with self.db.read() as conn:
            return (await conn.execute(stmt)).scalar()

    async def queued_by_namespace(self, *, now: datetime) -> dict[str, int]:
        """Queued runs per namespace; a run written ahead counts from its fire time."""
        stmt = (
            sa.select(R.namespace, sa.func.count())
            .where(R.status == "queued", not_waiting(now))
            .group_by(R.namespace)
        )
        async with self.db.read() as conn:
            return {ns: int(n) for ns, n in (await conn.execute(stmt)).all()}

    async def record_breaches(self, breaches: Sequence[Breach], *, now: datetime) -> list[Breach]:
        """Store the breaches not stored before and write an event for each, in one
        transaction; the new ones."""
        if not breaches:
            return []
        module = postgresql if self.db.dialect == "postgresql" else sqlite
        new: list[Breach] = []
        async with self.db.write(now) as (conn, events):
            for b in breaches:
                stmt = (
                    module.insert(t.breaches)
                    .values(kind=b.kind, subject=b.subject[:255], job_id=b.job_id, at=now)
                    .on_conflict_do_nothing()
                    .returning(B.subject)
                )
                if (await conn.execute(stmt)).first() is not None:
                    new.append(b)
                    events.add(b.event, job_id=b.job_id or None, run_id=b.run_id, data=dict(b.data))
        return new
