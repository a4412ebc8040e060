"""Claims on PostgreSQL in raw psycopg: fixed statements (prepared by psycopg once they have
run a few times) sent in pipelines, so a claim costs two or three round trips rather than
six to eight through SQLAlchemy, and none of its statement building.

- **Runs that bypass their job's concurrency** (``allow`` jobs), the common case: BEGIN with
  the locking pick; then the update, the jobs' targets and COMMIT. No job is locked.
- **Otherwise** (``claim_limited``): BEGIN with a look at the candidates; then, in the lock
  order (store/locking.py), the jobs that count their running runs locked and counted, and
  the candidates locked (SKIP LOCKED); the choice (``choose``, shared with SQLite); then the
  update, the targets and COMMIT.

The caller's transaction must hold nothing else: a claim commits it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from tickwork.store.pg import driver

_READY = """
FROM runs
WHERE status = 'queued' AND {where}
  AND (not_before IS NULL OR not_before <= %(now)s)
ORDER BY priority DESC, queued_at, id
LIMIT %(limit)s
"""
_LOCKING = " FOR NO KEY UPDATE SKIP LOCKED"


def _ready(*, locking: bool, routes: str, namespaces: str) -> str:
    """The candidates' statement. One route (or namespace) is compared as a value, not as an
    array of one: then ``ix_runs_claimable`` (``…_namespace``) gives the rows in the claim's
    order and the scan stops at the limit; several are an array (sorted, the rarer case)."""
    where = ["route = %(route)s" if routes == "one" else "route = ANY(%(routes)s)"]
    if namespaces == "one":
        where.insert(0, "namespace = %(namespace)s")
    elif namespaces == "many":
        where.insert(0, "namespace = ANY(%(namespaces)s)")
    text = "SELECT id, job_id, bypass_concurrency" + _READY.format(where=" AND ".join(where))
    return text + (_LOCKING if locking else "")


SHAPES = [(r, n) for r in ("one", "many") for n in ("all", "one", "many")]
PICK = {shape: _ready(locking=True, routes=shape[0], namespaces=shape[1]) for shape in SHAPES}
"""The candidates, locked, by (routes, namespaces) shape: a fixed text each, prepared once."""
LOOK = {shape: _ready(locking=False, routes=shape[0], namespaces=shape[1]) for shape in SHAPES}

LOCK_JOBS = """
SELECT id, concurrency FROM jobs WHERE id = ANY(%(jobs)s) ORDER BY id FOR NO KEY UPDATE
"""
RUNNING = """
SELECT job_id, count(*) FROM runs
WHERE job_id = ANY(%(jobs)s) AND status = 'running' GROUP BY job_id
"""

CLAIM = """
UPDATE runs SET status = 'running', worker_id = %(worker)s, fence = fence + 1,
  claimed_at = %(now)s, started_at = NULL, lease_expires_at = %(expires)s,
  ack_deadline = %(ack)s, cancel_requested = false
WHERE id = ANY(%(ids)s) AND status = 'queued'
RETURNING id, job_id, fence, attempt, idempotency_key, parameters, timeout
"""

JOBS = """
SELECT id, name, spec FROM jobs
WHERE id IN (SELECT job_id FROM runs WHERE id = ANY(%(ids)s))
"""


@dataclass(frozen=True, slots=True)
class Terms:
    """What a claim asks for and grants."""

    worker_id: str
    routes: Sequence[str]
    limit: int
    now: datetime
    expires: datetime
    ack: datetime
    namespaces: Sequence[str] | None = None
    """A worker limited to some namespaces (its token's scopes) claims only their runs."""

    @property
    def shape(self) -> tuple[str, str]:
        routes = "one" if len(self.routes) == 1 else "many"
        if self.namespaces is None:
            return routes, "all"
        return routes, "one" if len(self.namespaces) == 1 else "many"

    def ready(self, limit: int) -> dict[str, Any]:
        found: dict[str, Any] = {"now": self.now, "limit": limit}
        routes, namespaces = self.shape
        if routes == "one":
            found["route"] = self.routes[0]
        else:
            found["routes"] = list(self.routes)
        if namespaces == "one":
            found["namespace"] = next(iter(self.namespaces or ()))
        elif namespaces == "many":
            found["namespaces"] = list(self.namespaces or ())
        return found


Claimed = tuple[list[str], list[tuple[Any, ...]], dict[str, tuple[Any, ...]]]
"""(picked run ids in order, the claimed runs' rows, their jobs by id)."""


def choose(rows: Sequence[Any], room: dict[str, int], limit: int) -> list[str]:
    """From locked candidates (id, job id, bypass) in start order, the ones to claim: runs
    that bypass their job's concurrency, and others while their job has room."""
    left = dict(room)
    picked: list[str] = []
    for run_id, job_id, bypass in rows:
        if len(picked) >= limit:
            break
        if bypass:
            picked.append(run_id)
        elif left.get(job_id, 0) > 0:  # a job not locked (not in room) has none counted
            left[job_id] -= 1
            picked.append(run_id)
    return picked


async def claim_bypassing(conn: AsyncConnection, terms: Terms) -> Claimed | None:
    """The claim when every candidate bypasses its job's concurrency; None if one does not
    (nothing changed: the transaction was rolled back, the caller may claim again on it)."""
    pg = await driver(conn)
    async with pg.pipeline():
        pick = pg.cursor()
        await pick.execute(PICK[terms.shape], terms.ready(terms.limit))
        rows = await pick.fetchall()
    if not all(bypass for _, _, bypass in rows):
        await pg.rollback()  # the candidates' locks go: jobs are locked before runs
        return None
    return await _claim(pg, [run_id for run_id, _, _ in rows], terms)


async def claim_limited(conn: AsyncConnection, terms: Terms) -> Claimed:
    """The claim when candidates may count their job's running runs: jobs locked before
    runs, each job's room counted under its lock."""
    pg = await driver(conn)
    ready = terms.ready(terms.limit * 4)
    async with pg.pipeline():
        look = pg.cursor()
        await look.execute(LOOK[terms.shape], ready)
        seen = await look.fetchall()
    if not seen:
        await pg.commit()
        return [], [], {}
    limited = sorted({job_id for _, job_id, bypass in seen if not bypass})
    async with pg.pipeline():
        jobs, running, pick = pg.cursor(), pg.cursor(), pg.cursor()
        if limited:
            await jobs.execute(LOCK_JOBS, {"jobs": limited})
            await running.execute(RUNNING, {"jobs": limited})
        await pick.execute(PICK[terms.shape], ready)
        locked = await jobs.fetchall() if limited else []
        counts = dict(await running.fetchall()) if limited else {}
        rows = await pick.fetchall()
    room = {job_id: concurrency - counts.get(job_id, 0) for job_id, concurrency in locked}
    return await _claim(pg, choose(rows, room, terms.limit), terms)


async def _claim(pg: Any, picked: list[str], terms: Terms) -> Claimed:
    if not picked:
        await pg.commit()
        return [], [], {}
    async with pg.pipeline():
        claim, jobs = pg.cursor(), pg.cursor()
        params = {
            "worker": terms.worker_id,
            "now": terms.now,
            "expires": terms.expires,
            "ack": terms.ack,
            "ids": picked,
        }
        await claim.execute(CLAIM, params)
        await jobs.execute(JOBS, {"ids": picked})
        await pg.commit()  # in the same round trip; the caller's commit then has nothing to do
        claimed = await claim.fetchall()
        found = {j[0]: j for j in await jobs.fetchall()}
    return picked, claimed, found
