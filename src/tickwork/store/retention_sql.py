"""Retention applied: batched deletes of old history (rules: domain/retention.py).

Every batch is its own short transaction that takes at most ``limit`` rows, oldest first,
along an index, and on PostgreSQL skips rows another transaction holds (``SKIP LOCKED``) rather
than waiting: the run path never waits on the pruner. Only finished history is touched, which
no claim, report or heartbeat locks. Locks follow store/locking.py: runs by id, then the
attempts and dead letters of the runs held.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from tickwork.domain.retention import RetentionPolicy
from tickwork.domain.runs import TERMINAL
from tickwork.store import tables as t
from tickwork.store.database import Database
from tickwork.store.dialect import one_of
from tickwork.store.run_writes import not_waiting

R = t.runs.c
J = t.jobs.c
A = t.attempts.c
D = t.dead_letters.c
W = t.workers.c
E = t.events.c
L = t.audit_log.c
T = t.job_totals.c
G = t.job_tags.c
P = t.pipeline_runs.c

_newer_pipeline_run = t.pipeline_runs.alias("newer_pipeline_run")
PIPELINE_RUN_ENDS = ("completed", "failed", "cancelled")

_newer = t.runs.alias("newer")
_FINISHED = sorted(TERMINAL)


def _prunable_run(now: datetime) -> list[sa.ColumnElement[bool]]:
    """Finished, not its job's latest run, no unresolved dead letter. A run written ahead
    of its tick is no newer run while it waits for it."""
    newer_exists = (
        sa.select(sa.literal(1))
        .where(
            _newer.c.job_id == R.job_id,
            sa.or_(
                _newer.c.queued_at > R.queued_at,
                sa.and_(_newer.c.queued_at == R.queued_at, _newer.c.id > R.id),
            ),
            not_waiting(now, _newer),
        )
        .exists()
    )
    open_letter = sa.select(sa.literal(1)).where(D.run_id == R.id, D.resolved_at.is_(None)).exists()
    return [R.status.in_(_FINISHED), newer_exists, ~open_letter]


def _own_limits() -> sa.ColumnElement[bool]:
    """The job sets its own retention (the predicate of ix_jobs_retention)."""
    return sa.or_(J.retention_days.is_not(None), J.retention_runs.is_not(None))


def _finished_run() -> sa.ColumnElement[bool]:
    """The attempt's run has finished (a running one may still append output)."""
    return sa.select(R.id).where(R.id == A.run_id, R.status.in_(_FINISHED)).exists()


class RetentionRows:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- runs ---------------------------------------------------------------------------------

    async def jobs_with_retention(self, *, after: str, limit: int) -> list[tuple[str, Any, Any]]:
        """Jobs that set their own retention, by id after ``after``: (id, days, runs)."""
        stmt = (
            sa.select(J.id, J.retention_days, J.retention_runs)
            .where(_own_limits(), J.id > after)
            .order_by(J.id)
            .limit(limit)
        )
        async with self.db.read() as conn:
            return [(r.id, r.retention_days, r.retention_runs) for r in await conn.execute(stmt)]

    def _default_runs(self, before: datetime) -> list[sa.ColumnElement[bool]]:
        """Runs of jobs that keep the server's limits, queued before its cutoff."""
        own = sa.select(J.id).where(_own_limits())
        return [R.queued_at < before, R.job_id.not_in(own)]

    async def _job_runs(
        self,
        conn: AsyncConnection,
        job_id: str,
        before: datetime,
        keep_last: int | None,
        now: datetime,
    ) -> list[sa.ColumnElement[bool]]:
        """Runs of one job with its own limits (domain ``run_prunable``); the last
        ``keep_last`` are of the runs that have come (not those waiting for their tick)."""
        too_old: sa.ColumnElement[bool] = R.queued_at < before
        if keep_last is not None:
            edge = (
                await conn.execute(
                    sa.select(R.queued_at, R.id)
                    .where(R.job_id == job_id, not_waiting(now))
                    .order_by(R.queued_at.desc(), R.id.desc())
                    .offset(keep_last - 1)
                    .limit(1)
                )
            ).first()
            if edge is not None:  # runs before the keep_last-th newest are beyond the count
                too_old = sa.or_(
                    too_old,
                    R.queued_at < edge.queued_at,
                    sa.and_(R.queued_at == edge.queued_at, R.id < edge.id),
                )
        return [R.job_id == job_id, too_old]

    async def prune_runs(
        self,
        *,
        now: datetime,
        policy: RetentionPolicy,
        limit: int,
        job: tuple[str, float | None, int | None] | None = None,
        dry_run: bool = False,
    ) -> int:
        """One batch of runs of the jobs on the server's limits (or of ``job`` with its own):
        how many went (with ``dry_run``: how many in all would go, nothing deleted)."""
        keep = _prunable_run(now)
        async with self.db.write(now) as (conn, _events):
            if job is None:
                where = self._default_runs(policy.runs_before(now, None))
            else:
                job_id, days, keep_last = job
                before = policy.runs_before(now, days)
                where = await self._job_runs(conn, job_id, before, keep_last, now)
            where += keep
            if dry_run:
                count = sa.select(sa.func.count()).select_from(t.runs).where(*where)
                return int((await conn.execute(count)).scalar_one())
            chosen = sa.select(R.id).where(*where).order_by(R.queued_at, R.id).limit(limit)
            ids = list((await conn.execute(chosen)).scalars())
            if not ids:
                return 0
            # the rows themselves, locked, and still prunable now they are held
            held = sa.select(R.id).where(one_of(R.id, ids, self.db.dialect), *keep)
            held = held.order_by(R.id)
            if self.db.is_postgres:
                held = held.with_for_update(skip_locked=True)
            ids = list((await conn.execute(held)).scalars())
            if not ids:
                return 0
            dialect = self.db.dialect
            await conn.execute(sa.delete(t.dead_letters).where(one_of(D.run_id, ids, dialect)))
            await conn.execute(sa.delete(t.attempts).where(one_of(A.run_id, ids, dialect)))
            await conn.execute(sa.delete(t.runs).where(one_of(R.id, ids, dialect)))
        return len(ids)

    async def prune_one_offs(
        self, *, now: datetime, before: datetime, limit: int, dry_run: bool = False
    ) -> int:
        """One batch of finished one-off runs queued before ``before`` (none with an
        unresolved dead letter), each with its hidden definition (domain ``run_prunable``,
        ``one_off``): how many runs went (``dry_run``: how many in all would go). The
        definitions are locked before their runs (the lock order), skipping any another
        transaction holds."""
        open_letter = (
            sa.select(sa.literal(1)).where(D.run_id == R.id, D.resolved_at.is_(None)).exists()
        )
        where = (J.one_off, J.created_at < before, R.status.in_(_FINISHED), ~open_letter)
        both = t.jobs.join(t.runs, R.job_id == J.id)
        async with self.db.write(now) as (conn, _events):
            if dry_run:
                count = sa.select(sa.func.count()).select_from(both).where(*where)
                return int((await conn.execute(count)).scalar_one())
            chosen = sa.select(J.id).select_from(both).where(*where)
            chosen = chosen.order_by(J.created_at).limit(limit)
            job_ids = list((await conn.execute(chosen)).scalars())
            if not job_ids:
                return 0
            dialect = self.db.dialect
            held = sa.select(J.id).where(one_of(J.id, job_ids, dialect)).order_by(J.id)
            if self.db.is_postgres:
                held = held.with_for_update(skip_locked=True)
            job_ids = list((await conn.execute(held)).scalars())
            runs = sa.select(R.id, R.job_id).select_from(both)
            runs = runs.where(one_of(J.id, job_ids, dialect), *where).order_by(R.id)
            if self.db.is_postgres:
                runs = runs.with_for_update(of=t.runs, skip_locked=True)
            found = (await conn.execute(runs)).all() if job_ids else []
            ids, gone = [r.id for r in found], [r.job_id for r in found]
            if not ids:
                return 0
            await conn.execute(sa.delete(t.dead_letters).where(one_of(D.run_id, ids, dialect)))
            await conn.execute(sa.delete(t.attempts).where(one_of(A.run_id, ids, dialect)))
            await conn.execute(sa.delete(t.runs).where(one_of(R.id, ids, dialect)))
            await conn.execute(sa.delete(t.job_totals).where(one_of(T.job_id, gone, dialect)))
            await conn.execute(sa.delete(t.job_tags).where(one_of(G.job_id, gone, dialect)))
            await conn.execute(sa.delete(t.jobs).where(one_of(J.id, gone, dialect)))
        return len(ids)

    # -- output, audit, workers, events -------------------------------------------------------

    async def prune_output(
        self, *, now: datetime, before: datetime, limit: int, dry_run: bool = False
    ) -> int:
        """Clear the output of attempts started before ``before`` (one batch). Not finished:
        a completed last attempt's row holds only its output, the run row tells the rest."""
        where = (sa.not_(A.output_pruned), A.started_at < before, _finished_run())
        async with self.db.write(now) as (conn, _events):
            if dry_run:
                count = sa.select(sa.func.count()).select_from(t.attempts).where(*where)
                return int((await conn.execute(count)).scalar_one())
            chosen = sa.select(A.run_id, A.number).where(*where).order_by(A.started_at).limit(limit)
            if self.db.is_postgres:
                chosen = chosen.with_for_update(skip_locked=True)
            keys = [tuple(row) for row in await conn.execute(chosen)]
            if not keys:
                return 0
            await conn.execute(
                sa.update(t.attempts)
                .where(sa.tuple_(A.run_id, A.number).in_(keys))
                .values(stdout="", stderr="", output_pruned=True)
            )
        return len(keys)

    async def _delete_oldest(
        self,
        *,
        now: datetime,
        table: sa.Table,
        key: sa.ColumnElement[Any],
        order: sa.ColumnElement[Any],
        where: tuple[sa.ColumnElement[bool], ...],
        limit: int,
        dry_run: bool,
    ) -> int:
        async with self.db.write(now) as (conn, _events):
            if dry_run:
                count = sa.select(sa.func.count()).select_from(table).where(*where)
                return int((await conn.execute(count)).scalar_one())
            chosen = sa.select(key).where(*where).order_by(order).limit(limit)
            if self.db.is_postgres:
                chosen = chosen.with_for_update(skip_locked=True)
            keys = list((await conn.execute(chosen)).scalars())
            if keys:
                await conn.execute(sa.delete(table).where(one_of(key, keys, self.db.dialect)))
        return len(keys)

    async def prune_audit(
        self, *, now: datetime, before: datetime, limit: int, dry_run: bool = False
    ) -> int:
        return await self._delete_oldest(
            now=now,
            table=t.audit_log,
            key=L.id,
            order=L.at,
            where=(L.at < before,),
            limit=limit,
            dry_run=dry_run,
        )

    async def prune_workers(
        self, *, now: datetime, before: datetime, limit: int, dry_run: bool = False
    ) -> int:
        """Workers no longer online and not heard of since ``before``."""
        return await self._delete_oldest(
            now=now,
            table=t.workers,
            key=W.id,
            order=W.last_heartbeat,
            where=(W.status != "online", W.last_heartbeat < before),
            limit=limit,
            dry_run=dry_run,
        )

    async def prune_events(
        self, *, now: datetime, before: datetime, limit: int, dry_run: bool = False
    ) -> int:
        return await self._delete_oldest(
            now=now,
            table=t.events,
            key=E.id,
            order=E.created_at,
            where=(E.created_at < before,),
            limit=limit,
            dry_run=dry_run,
        )

    async def prune_pipeline_runs(
        self, *, now: datetime, before: datetime, limit: int, dry_run: bool = False
    ) -> int:
        """Finished pipeline runs queued before ``before`` (one batch), never a pipeline's
        latest run. Their task runs stay under the runs' own rules; those still kept forget
        the pipeline run (``pipeline_run_id`` cleared), so none points at a row that is gone.
        Locks: the pipeline runs (SKIP LOCKED), then their finished task runs (the lock
        order)."""
        newer = (
            sa.select(sa.literal(1))
            .where(
                _newer_pipeline_run.c.pipeline_id == P.pipeline_id,
                _newer_pipeline_run.c.queued_at > P.queued_at,
            )
            .exists()
        )
        where = (P.status.in_(PIPELINE_RUN_ENDS), P.queued_at < before, newer)
        async with self.db.write(now) as (conn, _events):
            if dry_run:
                count = sa.select(sa.func.count()).select_from(t.pipeline_runs).where(*where)
                return int((await conn.execute(count)).scalar_one())
            chosen = sa.select(P.id).where(*where).order_by(P.queued_at).limit(limit)
            if self.db.is_postgres:
                chosen = chosen.with_for_update(skip_locked=True)
            keys = list((await conn.execute(chosen)).scalars())
            if keys:
                await conn.execute(
                    sa.update(t.runs)
                    .where(one_of(R.pipeline_run_id, keys, self.db.dialect))
                    .values(pipeline_run_id=None)
                )
                await conn.execute(
                    sa.delete(t.pipeline_runs).where(one_of(P.id, keys, self.db.dialect))
                )
        return len(keys)
