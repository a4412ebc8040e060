"""Reports on PostgreSQL in raw psycopg: the happy path of a report in two round trips.

Most reports only finish runs that completed (their starts travelling with their ends).
Through SQLAlchemy such a report cost seven round trips (BEGIN, the dependents' jobs locked,
the runs locked, the update, the look for dependents, the events, COMMIT) and the building
of each statement. Here:

1. ``lock``, one pipeline: the jobs that depend on the finishing runs' jobs locked (the lock
   order, store/locking.py: jobs before runs), by an edge of any condition (success, failure
   or done): none found says ``finish_hooks.after_finish`` has nothing to do for these runs,
   which is what lets the happy path skip it; then the runs named, locked by id, with their
   job's name and type.
2. ``finish``, one pipeline: the runs' update (``update_many``'s text), the events and
   COMMIT.

Anything else (a failure, output, a hand-back, a stale fence, a dependent to queue) goes on
through SQLAlchemy in the same transaction, with the rows ``lock`` read and its locks held.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from psycopg.rows import namedtuple_row
from sqlalchemy.ext.asyncio import AsyncConnection

from tickwork.store import tables as t
from tickwork.store.claims_pg import Claimed, Terms, bypassed, send_bypassing
from tickwork.store.dialect import pg_arrays, pg_insert_all, pg_update_many
from tickwork.store.pg import driver
from tickwork.store.run_writes import FINISH_COLUMNS, FINISH_WHERE

LOCK_DEPENDENTS = """
SELECT id FROM jobs
WHERE id IN (
  SELECT job_id FROM job_deps
  WHERE depends_on_id IN (SELECT job_id FROM runs WHERE id = ANY(%(finishing)s))
)
ORDER BY id FOR NO KEY UPDATE
"""

LOCK_PIPELINE_RUNS = """
SELECT id FROM pipeline_runs
WHERE id IN (
  SELECT pipeline_run_id FROM runs
  WHERE id = ANY(%(finishing)s) AND pipeline_run_id IS NOT NULL
)
ORDER BY id FOR NO KEY UPDATE
"""
"""The pipeline runs the finishing runs are tasks of (before any job or run: the lock order)."""

LOCK_RUNS = """
SELECT r.id, r.job_id, r.fence, r.status, r.attempt, r.max_attempts, r.started_at,
  r.claimed_at, r.worker_id, r.cancel_requested, r.cancelled_by, r.pipeline_run_id,
  j.name AS job_name, j.type AS job_type
FROM runs r CROSS JOIN LATERAL (SELECT name, type FROM jobs WHERE jobs.id = r.job_id OFFSET 0) j
WHERE r.id = ANY(%(ids)s)
ORDER BY r.id FOR NO KEY UPDATE OF r
"""
"""``run_writes.locked_runs`` in driver SQL (the same columns, lock and order). Each run's
job is read by key (``OFFSET 0`` keeps the subquery a per-row lookup): a join left to the
planner hashed the whole jobs table whenever the statistics had not seen a burst of jobs."""

FINISH = pg_update_many(t.runs, keys=["id", "fence"], values=FINISH_COLUMNS, where=FINISH_WHERE)
FINISH_KEYS = ["id", "fence", *FINISH_COLUMNS]


async def lock(
    conn: AsyncConnection, finishing: Sequence[str], named: Sequence[str]
) -> tuple[list[str], dict[str, Any]]:
    """(the pipeline runs and the dependents' jobs, now locked; the runs named, locked, by
    id) in one round trip. A finish that locked a pipeline run goes the general way (its
    pipeline run advances there)."""
    pg = await driver(conn)
    async with pg.pipeline():
        pipes, jobs = pg.cursor(), pg.cursor()
        runs = pg.cursor(row_factory=namedtuple_row)
        if finishing:
            wanted = {"finishing": sorted(set(finishing))}
            await pipes.execute(LOCK_PIPELINE_RUNS, wanted)
            await jobs.execute(LOCK_DEPENDENTS, wanted)
        await runs.execute(LOCK_RUNS, {"ids": sorted(set(named))})
        pipelines = [r[0] for r in await pipes.fetchall()] if finishing else []
        dependents = [r[0] for r in await jobs.fetchall()] if finishing else []
        rows = {r.id: r for r in await runs.fetchall()}
    return [*pipelines, *dependents], rows


async def finish(
    conn: AsyncConnection,
    updates: list[dict[str, Any]],
    events: list[dict[str, Any]],
    claim: Terms | None = None,
) -> Claimed | None:
    """The settled runs written, their events inserted, with ``claim`` the bypassing claim
    for the worker, and COMMIT, in one round trip (the caller's commit then has nothing left
    to do). The claim comes after the finishes, so it sees the room they freed; it locks no
    job (the lock order holds: jobs before runs). None: no claim asked, or a candidate was
    not free (the claim changed nothing; the report is committed all the same)."""
    pg = await driver(conn)
    async with pg.pipeline():
        claiming = pg.cursor()
        await sender(updates, events)(pg)
        if claim is not None:
            await send_bypassing(claiming, claim)
        await pg.commit()
        return bypassed(await claiming.fetchall()) if claim is not None else None


def sender(
    updates: list[dict[str, Any]], events: list[dict[str, Any]]
) -> Callable[[Any], Awaitable[None]]:
    """What sends the settled runs' update and their events on a driver connection (in its
    caller's pipeline)."""

    async def send(pg: Any) -> None:
        await pg.cursor().execute(FINISH, pg_arrays(t.runs, FINISH_KEYS, updates))
        if events:
            cols = list(events[0])
            await pg.cursor().execute(
                pg_insert_all(t.events, cols), pg_arrays(t.events, cols, events)
            )

    return send
