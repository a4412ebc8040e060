"""The claim of runs that bypass their job's concurrency, on PostgreSQL, in raw psycopg.

The common claim (every candidate's job allows more runs than could ever run at once) needs
no job lock: the runs are chosen and locked, set running and returned with their jobs'
targets. Written with SQLAlchemy that was six round trips (BEGIN, a look at the candidates,
the locking select, the update, the jobs, COMMIT) and most of a claim's CPU in building and
caching statements. Here the statements are fixed text, prepared by psycopg once they have
run a few times, and sent in two pipelines: BEGIN with the locking select; then the update,
the jobs and COMMIT.

When a candidate's job counts its running runs (``bypass_concurrency`` false), this claim
makes no change and answers None: the general claim (``claims_sql``), which locks those jobs
before any run, as the lock order asks, takes it from there.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

PICK = """
SELECT id, bypass_concurrency FROM runs
WHERE status = 'queued' AND route = ANY(%(routes)s)
  AND (not_before IS NULL OR not_before <= %(now)s)
ORDER BY priority DESC, queued_at, id
LIMIT %(limit)s
FOR NO KEY UPDATE SKIP LOCKED
"""

PICK_IN_NAMESPACES = PICK.replace(
    "AND route = ANY(%(routes)s)",
    "AND route = ANY(%(routes)s) AND namespace = ANY(%(namespaces)s)",
)
"""The same for a worker limited to some namespaces (``ix_runs_claimable_namespace``)."""

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


async def claim_bypassing(
    conn: AsyncConnection,
    *,
    worker_id: str,
    routes: Sequence[str],
    limit: int,
    now: datetime,
    expires: datetime,
    ack: datetime,
    namespaces: Sequence[str] | None = None,
) -> tuple[list[str], list[tuple[Any, ...]], dict[str, tuple[Any, ...]]] | None:
    """(picked ids in order, claimed rows, jobs by id), or None if a candidate's job counts
    its running runs (nothing was changed; the caller's transaction only read). A worker
    limited to ``namespaces`` picks only their runs."""
    raw = await conn.get_raw_connection()
    pg: Any = raw.driver_connection
    args: dict[str, Any] = {"routes": list(routes), "now": now, "limit": limit}
    if namespaces is not None:
        args["namespaces"] = list(namespaces)
    async with pg.pipeline():
        pick = pg.cursor()
        await pick.execute(PICK if namespaces is None else PICK_IN_NAMESPACES, args)
        rows = await pick.fetchall()
    if not all(bypass for _, bypass in rows):
        return None
    picked = [rid for rid, _ in rows]
    if not picked:
        return [], [], {}
    async with pg.pipeline():
        claim, jobs = pg.cursor(), pg.cursor()
        params = {"worker": worker_id, "now": now, "expires": expires, "ack": ack, "ids": picked}
        await claim.execute(CLAIM, params)
        await jobs.execute(JOBS, {"ids": picked})
        claimed = await claim.fetchall()
        found = {j[0]: j for j in await jobs.fetchall()}
    return picked, claimed, found
