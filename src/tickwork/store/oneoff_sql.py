"""One-off runs (domain/oneoff.py): the run and its hidden definition, written together.

The definition is a ``jobs`` row with ``one_off`` set, named by the run's id, holding the spec
as any job's row does: claims, reports, retries, cancels and the reaper read it as they read
a job's. Job lists, counts, lookups, the DAG and the ``max_jobs`` quota leave these rows out
(``jobs_sql.JOB``); retention removes one with its run (``retention_sql``).
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from tickwork.domain import ids
from tickwork.domain.errors import Conflict
from tickwork.domain.jobs import Job, JobSpec
from tickwork.domain.newruns import JobRef, queued_run
from tickwork.domain.oneoff import OneOff
from tickwork.domain.queries import NewRun
from tickwork.domain.records import Triggered
from tickwork.store import tables as t
from tickwork.store.database import Database
from tickwork.store.jobs_sql import _job_values
from tickwork.store.quotas_sql import check_new_runs
from tickwork.store.rows import spec_from_json, tag_rows
from tickwork.store.run_writes import insert_runs

R = t.runs.c
J = t.jobs.c


class OneOffRows:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def submit(self, item: OneOff, *, now: datetime) -> Triggered:
        """Queue the one-off run with its definition, under its namespace's run quotas
        (not ``max_jobs``: it is no job). With an idempotency key, the run the key already
        made, if any, is answered instead (``created`` false); two racing submissions of
        one key meet at the unique job name, and the loser answers the winner's run."""
        try:
            return await self._submit(item, now)
        except IntegrityError as exc:
            if item.idempotency_key is None:
                raise
            async with self.db.read() as conn:
                status = await _status(conn, item.run_id)
            if status is None:
                raise Conflict(
                    f"run '{item.run_id}' of this idempotency key was being written; try again"
                ) from exc
            return Triggered(item.run_id, status, False)

    async def _submit(self, item: OneOff, now: datetime) -> Triggered:
        spec = item.spec
        job = Job(id=ids.job_id(), spec=spec, created_at=now, updated_at=now)
        async with self.db.write(now) as (conn, events):
            if item.idempotency_key is not None:
                status = await _status(conn, item.run_id)
                if status is not None:
                    return Triggered(item.run_id, status, False)
            await check_new_runs(conn, self.db.dialect, {spec.namespace: 1}, now=now)
            values = _job_values(job) | {"name": item.run_id, "one_off": True, "next_run": None}
            await conn.execute(sa.insert(t.jobs).values(**values))
            if spec.tags:  # a namespace's tag rate limits count runs by their job's tags
                await conn.execute(sa.insert(t.job_tags), tag_rows(job, listed=False))
            ref = JobRef.of(
                job_id=job.id,
                name=spec.name,
                route=spec.route,
                priority=spec.priority,
                spec=values["spec"],
            )
            new = NewRun(job_id=job.id, trigger="manual", idempotency_key=item.idempotency_key)
            run = queued_run(ref, new, run_id=item.run_id, now=now)
            await insert_runs(conn, self.db.dialect, events, [run], {job.id: spec.name})
        return Triggered(item.run_id, "queued", True)

    async def spec(self, run_id: str) -> JobSpec | None:
        """A one-off run's definition, as submitted (None: no such run, or one of a job)."""
        stmt = (
            sa.select(J.spec)
            .select_from(t.runs.join(t.jobs, J.id == R.job_id))
            .where(R.id == run_id, J.one_off)
        )
        async with self.db.read() as conn:
            found = (await conn.execute(stmt)).scalar_one_or_none()
        if found is None:
            return None
        return spec_from_json(found)


async def _status(conn: AsyncConnection, run_id: str) -> str | None:
    found = (await conn.execute(sa.select(R.status).where(R.id == run_id))).scalar_one_or_none()
    return None if found is None else str(found)
