"""Bulk actions on runs and dead letters: each one transaction over a selection (ids, or a
filter), following the one lock order (store/locking.py): the selected runs' jobs, then the
runs, by id, then what they change. Every update is still conditional on the status the
run was locked in, so a run that moved on meanwhile is left alone and not counted."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa

from tickwork.domain.queries import DeadLetterSelection, RunSelection
from tickwork.domain.records import BulkResult
from tickwork.domain.runs import ACTIVE
from tickwork.store import tables as t
from tickwork.store.database import Database
from tickwork.store.dialect import one_of
from tickwork.store.jobs_sql import namespace_where
from tickwork.store.locking import lock_jobs_of, lock_runs
from tickwork.store.pipeline_flow import advance_pipeline_runs, lock_pipeline_runs
from tickwork.store.run_writes import CANCELLED, STOPPED_RUN, requeue_runs, stop_runs

R = t.runs.c
D = t.dead_letters.c
P = t.pipeline_runs.c

REQUEUABLE = ("cancelled", "failed", "missed")
"""The statuses a replayed dead letter's run may be queued again from (as a single replay)."""


class BulkRows:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def runs_cancel(self, sel: RunSelection, *, by: str, now: datetime) -> BulkResult:
        """Cancel the selected queued runs and ask the workers of the running ones to stop
        them, as a single cancel does (``by`` is kept as ``cancelled_by``)."""
        which = self._runs(sel, ACTIVE)
        async with self.db.write(now) as (conn, events):
            await lock_pipeline_runs(
                conn,
                self.db.dialect,
                P.id.in_(sa.select(R.pipeline_run_id).where(which).scalar_subquery()),
            )
            await lock_jobs_of(conn, self.db.dialect, which)
            held = await lock_runs(conn, self.db.dialect, which, columns=STOPPED_RUN)
            changed, stopping = await stop_runs(
                conn, self.db.dialect, events, held, by=by, error=CANCELLED, now=now
            )
            await advance_pipeline_runs(conn, self.db.dialect, events, changed, now)
        return BulkResult(len(changed), changed, stopping)

    async def runs_retry(self, sel: RunSelection, *, now: datetime) -> BulkResult:
        """Queue the selected failed runs again, each a new attempt series; their open dead
        letters are resolved as retried."""
        which = self._runs(sel, ("failed",))
        async with self.db.write(now) as (conn, events):
            await lock_jobs_of(conn, self.db.dialect, which)
            held = await lock_runs(conn, self.db.dialect, which, columns=STOPPED_RUN)
            runs, _ = await requeue_runs(
                conn, self.db.dialect, events, held, trigger="manual", resolution="retried", now=now
            )
        return BulkResult(len(runs), runs)

    async def dead_letters_replay(
        self, sel: DeadLetterSelection, *, note: str | None, now: datetime
    ) -> BulkResult:
        """Queue the runs of the selected open dead letters again and resolve the entries as
        replayed (with ``note``); an entry whose run cannot be queued again is left open."""
        runs = sa.select(D.run_id).where(*self._letters(sel)).scalar_subquery()
        which = sa.and_(R.id.in_(runs), R.status.in_(REQUEUABLE))
        async with self.db.write(now) as (conn, events):
            await lock_jobs_of(conn, self.db.dialect, which)
            held = await lock_runs(conn, self.db.dialect, which, columns=STOPPED_RUN)
            _, letters = await requeue_runs(
                conn,
                self.db.dialect,
                events,
                held,
                trigger="replay",
                resolution="replayed",
                note=note,
                now=now,
            )
        return BulkResult(len(letters), letters)

    async def dead_letters_resolve(
        self, sel: DeadLetterSelection, *, note: str | None, now: datetime
    ) -> BulkResult:
        """Mark the selected open dead letters handled, with ``note``, in one statement."""
        async with self.db.write(now) as (conn, events):
            done = await conn.execute(
                sa.update(t.dead_letters)
                .where(*self._letters(sel))
                .values(resolved_at=now, resolution="resolved", note=note)
                .returning(D.id, D.run_id, D.job_id)
            )
            rows = done.all()
            for r in rows:
                events.add("dead_letter.resolved", job_id=r.job_id, run_id=r.run_id)
        return BulkResult(len(rows), [r.id for r in rows])

    # --- selections ---------------------------------------------------------------------

    def _runs(self, sel: RunSelection, allowed: Iterable[str]) -> sa.ColumnElement[bool]:
        """The runs of a selection that have one of the ``allowed`` statuses."""
        statuses = sorted(set(sel.statuses or allowed) & set(allowed))
        where: list[sa.ColumnElement[bool]] = [R.status.in_(statuses)]
        if sel.by_ids:
            where.append(one_of(R.id, sorted(set(sel.ids)), self.db.dialect))
        if sel.job_id is not None:
            where.append(R.job_id == sel.job_id)
        where += namespace_where(R.namespace, sel.namespaces)
        return sa.and_(*where)

    def _letters(self, sel: DeadLetterSelection) -> list[sa.ColumnElement[bool]]:
        """The open dead letters of a selection."""
        where: list[sa.ColumnElement[bool]] = [D.resolved_at.is_(None)]
        if sel.by_ids:
            where.append(one_of(D.id, sorted(set(sel.ids)), self.db.dialect))
        if sel.job_id is not None:
            where.append(D.job_id == sel.job_id)
        if sel.error_summary is not None:
            where.append(D.error_summary == sel.error_summary)
        if sel.without_summary:
            where.append(D.error_summary.is_(None))
        if not sel.namespaces.everything:
            shown = sa.select(t.jobs.c.id).where(
                *namespace_where(t.jobs.c.namespace, sel.namespaces)
            )
            where.append(D.job_id.in_(shown))
        return where
