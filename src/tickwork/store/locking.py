"""The one lock order of every write transaction, and the statements that take the locks.

On PostgreSQL a transaction that changes rows of these tables locks them in this order, and
only in this order::

    workers (one, or by id)  →  pipelines (one)  →  pipeline_runs (by id)
        →  jobs (by id)  →  runs (by id)  →  attempts (of runs it holds)

- a pipeline (a trigger or tick of it, a change of its definition) before its pipeline runs;
- the pipeline runs a transaction changes before any job or run: a finish (report, reaper,
  cancel) locks the pipeline runs its runs are tasks of first (a run's ``pipeline_run_id``
  never changes, so it is read without a lock), since advancing one queues task runs and
  reads its other tasks' runs (store/pipeline_flow.py);
- the jobs it will touch (``last_run_status``, concurrency, overlap) before any run;
- its runs in ascending id, in one statement, before it changes any of them;
- attempts only of runs it already holds.

Every wait then points down that order, so no cycle of waits, and so no deadlock, can form
(heartbeats, reports, claims, cancels, triggers, ticks, the reaper, deregistration and job
deletion all follow it). Row locks are ``FOR NO KEY UPDATE``, the lock an ``UPDATE`` of non-key
columns takes anyway: inserting a row that references a locked one (an attempt of a run, a
run of a job) is not blocked by it. Claims and the reaper skip runs another transaction holds
(``SKIP LOCKED``) instead of waiting for them. The one lock taken against the order is the
claim a report carries (store/claims_pg.py ``claim_after_finish``): holding the report's runs,
it locks the jobs it counts with ``SKIP LOCKED`` too, so it never waits while holding a run
(a wait, not a lock, is what a cycle is made of). A run's ``job_id`` never changes, so reading it
without a lock to find which job to lock first is safe.

SQLite serialises whole write transactions (``BEGIN IMMEDIATE``): there these statements are
plain reads in the same order.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from tickwork.domain.errors import Unavailable
from tickwork.store import tables as t
from tickwork.store.dialect import one_of

R = t.runs.c
J = t.jobs.c
T = TypeVar("T")

LOCK_CONFLICTS = frozenset({"40P01", "40001"})
"""deadlock_detected, serialization_failure: the transaction lost a race and may be retried."""


def no_key_update(
    stmt: sa.Select[Any], dialect: str, *, skip_locked: bool = False
) -> sa.Select[Any]:
    """``FOR NO KEY UPDATE [SKIP LOCKED]`` on PostgreSQL; as is on SQLite."""
    if dialect != "postgresql":
        return stmt
    return stmt.with_for_update(key_share=True, skip_locked=skip_locked)


def for_update(stmt: sa.Select[Any], dialect: str) -> sa.Select[Any]:
    """``FOR UPDATE`` on PostgreSQL (what deleting a row that others reference takes first:
    it waits for, and then blocks, their ``FOR KEY SHARE``); as is on SQLite."""
    if dialect != "postgresql":
        return stmt
    return stmt.with_for_update()


def key_share(stmt: sa.Select[Any], dialect: str) -> sa.Select[Any]:
    """``FOR KEY SHARE`` on PostgreSQL (what a row referencing it takes: a concurrent update
    of the row goes on, a delete waits); as is on SQLite."""
    if dialect != "postgresql":
        return stmt
    return stmt.with_for_update(read=True, key_share=True)


async def lock_jobs(
    conn: AsyncConnection,
    dialect: str,
    job_ids: Iterable[str],
    *,
    columns: Iterable[sa.ColumnElement[Any]] = tuple(t.jobs.c),
) -> list[Any]:
    """Lock these jobs, by id; their rows (``columns``)."""
    ids = sorted(set(job_ids))
    if not ids:
        return []
    stmt = sa.select(*columns).where(one_of(J.id, ids, dialect)).order_by(J.id)
    return list((await conn.execute(no_key_update(stmt, dialect))).all())


async def lock_jobs_of_runs(
    conn: AsyncConnection,
    dialect: str,
    run_ids: Iterable[str],
    *,
    dependents_of: Iterable[str] = (),
) -> list[str]:
    """Lock the jobs of these runs, by id, in one statement; their ids. With
    ``dependents_of``, also the jobs that depend on those runs' jobs (a completion may queue
    a run of each and mark it)."""
    ids = sorted(set(run_ids))
    finishing = sorted(set(dependents_of))
    if not ids and not finishing:
        return []
    which: sa.ColumnElement[bool] = J.id.in_(
        sa.select(R.job_id).where(one_of(R.id, ids, dialect)).scalar_subquery()
    )
    if finishing:
        upstream = sa.select(R.job_id).where(one_of(R.id, finishing, dialect))
        dependents = sa.select(t.job_deps.c.job_id).where(
            t.job_deps.c.depends_on_id.in_(upstream.scalar_subquery())
        )
        which = sa.or_(which, J.id.in_(dependents.scalar_subquery()))
    stmt = sa.select(J.id).where(which).order_by(J.id)
    return list((await conn.execute(no_key_update(stmt, dialect))).scalars())


async def lock_runs(
    conn: AsyncConnection,
    dialect: str,
    *where: sa.ColumnElement[bool],
    columns: Iterable[sa.ColumnElement[Any]] = (R.id,),
    skip_locked: bool = False,
    limit: int | None = None,
) -> list[Any]:
    """Lock the runs matching ``where``, by id, in one statement; their ``columns``."""
    stmt = sa.select(*columns).where(*where).order_by(R.id)
    if limit is not None:
        stmt = stmt.limit(limit)
    return list((await conn.execute(no_key_update(stmt, dialect, skip_locked=skip_locked))).all())


async def lock_runs_by_id(conn: AsyncConnection, dialect: str, run_ids: Iterable[str]) -> None:
    """Lock these runs, by id (those that exist)."""
    ids = sorted(set(run_ids))
    if ids:
        await lock_runs(conn, dialect, one_of(R.id, ids, dialect))


def is_lock_conflict(exc: BaseException) -> bool:
    """A deadlock or serialisation failure reported by PostgreSQL (also once translated into
    ``Unavailable`` at the transaction's edge)."""
    if isinstance(exc, Unavailable) and exc.__cause__ is not None:
        exc = exc.__cause__
    code = getattr(getattr(exc, "orig", None), "sqlstate", None)
    return isinstance(exc, DBAPIError) and code in LOCK_CONFLICTS


async def retry_lock_conflicts(op: Callable[[], Awaitable[T]], *, attempts: int = 3) -> T:
    """Run ``op`` (a whole transaction), again if it lost a deadlock or serialisation race to a
    transaction outside tickwork's lock order (an operator's SQL, say)."""
    for attempt in range(attempts):
        try:
            return await op()
        except (DBAPIError, Unavailable) as exc:
            if attempt + 1 >= attempts or not is_lock_conflict(exc):
                raise
            await asyncio.sleep(0.01 * 2**attempt)
    raise AssertionError("unreachable")  # pragma: no cover


async def lock_jobs_of(
    conn: AsyncConnection,
    dialect: str,
    runs_where: sa.ColumnElement[bool],
    *,
    dependents: bool = False,
) -> list[str]:
    """Lock the jobs of the runs matching ``runs_where`` (with ``dependents``, and the jobs
    that depend on those), by id, in one statement; their ids (a bulk action's first step:
    the lock order)."""
    jobs = sa.select(R.job_id).where(runs_where).scalar_subquery()
    which: sa.ColumnElement[bool] = J.id.in_(jobs)
    if dependents:
        after = sa.select(t.job_deps.c.job_id).where(t.job_deps.c.depends_on_id.in_(jobs))
        which = sa.or_(which, J.id.in_(after.scalar_subquery()))
    stmt = sa.select(J.id).where(which).order_by(J.id)
    return list((await conn.execute(no_key_update(stmt, dialect))).scalars())
