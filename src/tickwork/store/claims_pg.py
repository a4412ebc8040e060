"""Claims on PostgreSQL in raw psycopg: fixed statements (prepared by psycopg once they have
run a few times) sent in pipelines, so a claim costs one round trip (three when limits
apply) rather than six to eight through SQLAlchemy, and none of its statement building.

- **Runs that bypass their job's concurrency** (``allow`` jobs), the common case: one
  statement, sent with BEGIN and COMMIT in one round trip, picks the candidates (locking,
  SKIP LOCKED), claims them only if every one is free, and returns them with their jobs'
  targets; if one is not free it changes nothing and says so. No job is locked.
  A candidate is free when it bypasses its job's concurrency and no limit touches it: no
  rate limit of its job or of its namespace's tags, no running quota of its namespace (three
  index probes per candidate, in the pick itself: no round trip more).
- **Otherwise** (``claim_limited``): BEGIN with a look at the candidates; then, in the lock
  order (store/locking.py), the jobs that count their running runs locked and counted, the
  namespaces' running quotas locked with their running runs counted, the rate limits of the
  candidates' jobs and tags locked with their windows, and the candidates locked (SKIP
  LOCKED); the choice (``choose_runs``, domain/quotas.py, shared with SQLite); then the
  update, the targets, the rate windows' new starts and COMMIT.

A run written ahead of its tick is a candidate from its fire time (``not_before``); one of a
``skip`` or ``cancel_previous`` job only while no earlier run of its job is active (the
overlap decision at the tick, domain/overlap.py ``at_tick``; store/schedule_sql.py
``EARLIER`` says the same for SQLite and the scheduler's pass at the tick). A claim clears
``runs.ahead``: from then on the run is an ordinary one (its retries and requeues too).
A candidate was also queued by now (``queued_at <= now``; a run written ahead is queued at
its fire time): ``queued_at`` is in ``ix_runs_claimable``, so the runs waiting ahead on a
route are passed over in the index, not fetched one by one to read their ``not_before``
(100,000 runs waiting ahead: a look with fewer ready runs than its limit 20-60 ms -> 0.5-3
ms). Coordinators' clocks apart by a few milliseconds delay a fresh run by as much.

The caller's transaction must hold nothing else: a claim commits it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from psycopg.types.json import Jsonb
from sqlalchemy.ext.asyncio import AsyncConnection

from tickwork.domain.quotas import RateWindow, choose_runs, tag_rate_key
from tickwork.store.pg import driver

_READY = """
FROM runs
WHERE status = 'queued' AND {where} AND queued_at <= %(now)s
  AND (not_before IS NULL OR not_before <= %(now)s)
  AND (ahead IS NULL OR ahead NOT IN ('skip', 'cancel_previous') OR NOT EXISTS (
    SELECT 1 FROM runs o
    WHERE o.job_id = runs.job_id AND o.status IN ('queued', 'running') AND o.id <> runs.id
      AND (o.ahead IS NULL OR o.not_before < runs.not_before
           OR (o.not_before = runs.not_before AND o.id < runs.id))))
ORDER BY priority DESC, queued_at, id
LIMIT %(limit)s
"""
_LOCKING = " FOR NO KEY UPDATE SKIP LOCKED"
_FREE = """bypass_concurrency
  AND NOT EXISTS (SELECT 1 FROM rate_limits l WHERE l.job_id = runs.job_id)
  AND NOT EXISTS (SELECT 1 FROM rate_limits l
                  WHERE l.namespace = runs.namespace AND l.tag IS NOT NULL)
  AND NOT EXISTS (SELECT 1 FROM namespace_quotas q
                  WHERE q.namespace = runs.namespace AND q.max_running IS NOT NULL) AS free
"""


_LIMITS = """(EXISTS (SELECT 1 FROM rate_limits l WHERE l.job_id = runs.job_id)
  OR EXISTS (SELECT 1 FROM rate_limits l WHERE l.namespace = runs.namespace AND l.tag IS NOT NULL)
  OR EXISTS (SELECT 1 FROM namespace_quotas q
             WHERE q.namespace = runs.namespace AND q.max_running IS NOT NULL)) AS limits, """


def _ready(*, locking: bool, routes: str, namespaces: str, limits: bool = False) -> str:
    """The candidates' statement. One route (or namespace) is compared as a value, not as an
    array of one: then ``ix_runs_claimable`` (``…_namespace``) gives the rows in the claim's
    order and the scan stops at the limit; several are an array (sorted, the rarer case)."""
    where = ["route = %(route)s" if routes == "one" else "route = ANY(%(routes)s)"]
    if namespaces == "one":
        where.insert(0, "namespace = %(namespace)s")
    elif namespaces == "many":
        where.insert(0, "namespace = ANY(%(namespaces)s)")
    text = "SELECT id, job_id, bypass_concurrency, namespace, " + (_LIMITS if limits else "")
    text += _FREE
    if locking:  # where the locked rows are, for the update of the same statement
        text += ", ctid"
    text += _READY.format(where=" AND ".join(where))
    return text + (_LOCKING if locking else "")


SHAPES = [(r, n) for r in ("one", "many") for n in ("all", "one", "many")]
PICK = {shape: _ready(locking=True, routes=shape[0], namespaces=shape[1]) for shape in SHAPES}
"""The candidates, locked, by (routes, namespaces) shape: a fixed text each, prepared once."""
LOOK = {shape: _ready(locking=False, routes=shape[0], namespaces=shape[1]) for shape in SHAPES}
LOOK_LIMITS = {
    shape: _ready(locking=False, routes=shape[0], namespaces=shape[1], limits=True)
    for shape in SHAPES
}
"""The look of a claim carried by a report: each candidate also says whether a rate limit or
a running quota touches it (``limits``)."""

LOCK_JOBS = """
SELECT id, concurrency FROM jobs WHERE id = ANY(%(jobs)s) ORDER BY id FOR NO KEY UPDATE
"""
LOCK_JOBS_FREE = """
SELECT id, concurrency FROM jobs WHERE id = ANY(%(jobs)s) ORDER BY id
FOR NO KEY UPDATE SKIP LOCKED
"""
"""The jobs a claim carried by a report counts, locked only where free: that claim already
holds the report's runs, so it must never wait for a job (the lock order puts jobs first)."""
RUNNING = """
SELECT job_id, count(*) FROM runs
WHERE job_id = ANY(%(jobs)s) AND status = 'running' GROUP BY job_id
"""

LOCK_QUOTAS = """
SELECT namespace, max_running FROM namespace_quotas
WHERE namespace = ANY(%(spaces)s) AND max_running IS NOT NULL
ORDER BY namespace FOR NO KEY UPDATE
"""
RUNNING_NS = """
SELECT namespace, count(*) FROM runs
WHERE status = 'running' AND namespace IN (
  SELECT namespace FROM namespace_quotas
  WHERE namespace = ANY(%(spaces)s) AND max_running IS NOT NULL)
GROUP BY namespace
"""
LOCK_RATES = """
SELECT key, max, seconds, starts, job_id, tag FROM rate_limits
WHERE job_id = ANY(%(jobs)s) OR (namespace = ANY(%(spaces)s) AND tag IS NOT NULL)
ORDER BY key FOR NO KEY UPDATE
"""
JOB_TAGS = "SELECT job_id, tag FROM job_tags WHERE job_id = ANY(%(jobs)s)"
WINDOW = "UPDATE rate_limits SET starts = %(starts)s WHERE key = %(key)s"

CLAIM = """
UPDATE runs SET status = 'running', worker_id = %(worker)s, fence = fence + 1,
  claimed_at = %(now)s, started_at = NULL, lease_expires_at = %(expires)s,
  ack_deadline = %(ack)s, cancel_requested = false, ahead = NULL
WHERE id = ANY(%(ids)s) AND status = 'queued'
RETURNING id, job_id, fence, attempt, idempotency_key, parameters, timeout, upstream
"""

JOBS = """
SELECT id, name, spec FROM jobs
WHERE id IN (SELECT job_id FROM runs WHERE id = ANY(%(ids)s))
"""


def _claim_free(pick: str) -> str:
    """The bypassing claim as one statement: the locking pick; whether every candidate is
    free; the update only then; the claimed runs with their jobs in the claim's order, or
    one row of NULLs saying whether nothing was free to take or something was not free.

    The update finds the picked runs by the place the pick locked them at (``ctid``: a TID
    scan, the one plan there is; the lock keeps the row where it is until the statement
    ends), and each claimed run's job is read by key (``OFFSET 0`` keeps it a lookup per
    run). Plans chosen by estimate went wrong in a burst, before an ANALYZE had seen it:
    the update walked every queued run in ``ix_runs_claimable`` to find the few picked
    (10,000 buffers a claim at 10,000 queued), tests/store/test_run_path_plans.py."""
    return f"""
WITH picked AS ({pick}),
verdict AS (SELECT coalesce(bool_and(free), true) AS all_free FROM picked),
claimed AS (
  UPDATE runs SET status = 'running', worker_id = %(worker)s, fence = runs.fence + 1,
    claimed_at = %(now)s, started_at = NULL, lease_expires_at = %(expires)s,
    ack_deadline = %(ack)s, cancel_requested = false, ahead = NULL
  FROM verdict
  WHERE runs.ctid = ANY(ARRAY(SELECT ctid FROM picked)) AND verdict.all_free
  RETURNING runs.id, runs.job_id, runs.fence, runs.attempt, runs.idempotency_key,
    runs.parameters, runs.timeout, runs.upstream, runs.priority, runs.queued_at
)
SELECT v.all_free, c.id, c.job_id, c.fence, c.attempt, c.idempotency_key, c.parameters,
  c.timeout, c.upstream, j.name, j.spec
FROM verdict v LEFT JOIN claimed c ON true
  LEFT JOIN LATERAL (SELECT name, spec FROM jobs WHERE jobs.id = c.job_id OFFSET 0) j ON true
ORDER BY c.priority DESC, c.queued_at, c.id
"""


CLAIM_FREE = {shape: _claim_free(PICK[shape]) for shape in SHAPES}


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


@dataclass(slots=True)
class Limits:
    """What the candidates of a limited claim start under, read under their locks."""

    job_room: dict[str, int] = field(default_factory=dict)
    namespace_room: dict[str, int] = field(default_factory=dict)
    windows: dict[str, RateWindow] = field(default_factory=dict)
    keys_of: dict[str, tuple[str, ...]] = field(default_factory=dict)
    held: dict[str, int] = field(default_factory=dict)
    """Runs passed over by what held them (``choose_runs``)."""

    @classmethod
    def of(
        cls,
        *,
        jobs: Sequence[Any],
        running: dict[str, int],
        quotas: Sequence[Any],
        running_ns: dict[str, int],
        rates: Sequence[Any],
        tags: Sequence[Any],
        namespaces: dict[str, str],
    ) -> Limits:
        """From the locked rows: jobs (id, concurrency), quotas (namespace, max_running),
        rates (key, max, seconds, starts, job_id, tag), the jobs' tags (job_id, tag) and
        namespaces (job id → namespace)."""
        windows = {r[0]: RateWindow(max=r[1], per=r[2], starts=list(r[3] or ())) for r in rates}
        keys: dict[str, list[str]] = {}
        for key, _, _, _, job_id, _ in rates:
            if job_id is not None:
                keys.setdefault(job_id, []).append(key)
        for job_id, tag in tags:
            key = tag_rate_key(namespaces.get(job_id, ""), tag)
            if key in windows:
                keys.setdefault(job_id, []).append(key)
        return cls(
            job_room={j: c - running.get(j, 0) for j, c in jobs},
            namespace_room={ns: m - running_ns.get(ns, 0) for ns, m in quotas},
            windows=windows,
            keys_of={j: tuple(k) for j, k in keys.items()},
        )

    def choose(self, rows: Sequence[Any], seen: set[str], limit: int, now: datetime) -> list[str]:
        """The candidates (id, job id, bypass, namespace, free) to claim, in their order: a
        run of a job not seen by the look (so none of its limits read) only if it is free."""
        known = [(r[0], r[1], r[2], r[3]) for r in rows if r[1] in seen or r[4]]
        return choose_runs(
            known,
            job_room=self.job_room,
            namespace_room=self.namespace_room,
            windows=self.windows,
            keys_of=self.keys_of,
            limit=limit,
            now=now,
            held=self.held,
        )

    def starts(self) -> list[dict[str, Any]]:
        """The windows' start times to store (every window read: the old ones dropped)."""
        return [{"key": k, "starts": Jsonb(w.starts)} for k, w in self.windows.items()]


async def claim_bypassing(conn: AsyncConnection, terms: Terms) -> Claimed | None:
    """The claim when every candidate is free (bypasses its job's concurrency, under no
    limit); None if one is not (nothing changed: the transaction was rolled back, the
    caller may claim again on it)."""
    pg = await driver(conn)
    async with pg.pipeline():
        cur = pg.cursor()
        await send_bypassing(cur, terms)
        # in the same round trip; if a candidate was not free, its lock goes with it (jobs
        # are locked before runs), and the caller's commit has nothing to do
        await pg.commit()
        return bypassed(await cur.fetchall())


async def send_bypassing(cur: Any, terms: Terms) -> None:
    """The bypassing claim's one statement, sent on ``cur`` (in the caller's pipeline)."""
    params = {
        **terms.ready(terms.limit),
        "worker": terms.worker_id,
        "expires": terms.expires,
        "ack": terms.ack,
    }
    await cur.execute(CLAIM_FREE[terms.shape], params)


def bypassed(rows: Sequence[Any]) -> Claimed | None:
    """What the bypassing claim's statement answered: the claim, or None if a candidate was
    not free (then it changed nothing)."""
    if not rows[0][0]:
        return None
    claimed = [tuple(r[1:9]) for r in rows if r[1] is not None]
    found = {r[2]: (r[2], r[9], r[10]) for r in rows if r[1] is not None}
    return [r[0] for r in claimed], claimed, found


async def claim_limited(
    conn: AsyncConnection, terms: Terms, held: dict[str, int] | None = None
) -> Claimed:
    """The claim when candidates may count their job's running runs, their namespace's or
    start under rate limits: jobs, then quotas, then rate limits locked before runs, each
    room counted under its lock; ``held`` counts the runs a limit held back."""
    pg = await driver(conn)
    ready = terms.ready(terms.limit * 4)
    async with pg.pipeline():
        look = pg.cursor()
        await look.execute(LOOK[terms.shape], ready)
        seen = await look.fetchall()
    if not seen:
        await pg.commit()
        return [], [], {}
    limited = sorted({row[1] for row in seen if not row[2]})
    touched = sorted({row[1] for row in seen if not row[4]})
    spaces = sorted({row[3] for row in seen if not row[4]})
    async with pg.pipeline():
        jobs, running, pick = pg.cursor(), pg.cursor(), pg.cursor()
        quotas, running_ns, rates, tags = pg.cursor(), pg.cursor(), pg.cursor(), pg.cursor()
        if limited:
            await jobs.execute(LOCK_JOBS, {"jobs": limited})
            await running.execute(RUNNING, {"jobs": limited})
        if touched:
            await quotas.execute(LOCK_QUOTAS, {"spaces": spaces})
            await running_ns.execute(RUNNING_NS, {"spaces": spaces})
            await rates.execute(LOCK_RATES, {"jobs": touched, "spaces": spaces})
            await tags.execute(JOB_TAGS, {"jobs": touched})
        await pick.execute(PICK[terms.shape], ready)
        limits = Limits.of(
            jobs=await jobs.fetchall() if limited else [],
            running=dict(await running.fetchall()) if limited else {},
            quotas=await quotas.fetchall() if touched else [],
            running_ns=dict(await running_ns.fetchall()) if touched else {},
            rates=await rates.fetchall() if touched else [],
            tags=await tags.fetchall() if touched else [],
            namespaces={row[1]: row[3] for row in seen},
        )
        rows = await pick.fetchall()
    picked = limits.choose(rows, {row[1] for row in seen}, terms.limit, terms.now)
    if held is not None:
        held.update(limits.held)
    return await _claim(pg, picked, terms, limits)


async def claim_after_finish(
    conn: AsyncConnection,
    terms: Terms,
    finish: Callable[[Any], Awaitable[None]],
    held: dict[str, int] | None = None,
) -> Claimed | None:
    """The claim a report carries, after the report's finishes in the same transaction, for
    candidates that may count their job's running runs: ``finish`` sends the report's
    statements in the first round trip beside the look, so the running runs are counted
    with the report's finishes applied (the room they freed is seen). Then the jobs counted,
    locked where free (SKIP LOCKED: this transaction holds runs, so it never waits for a
    job; a run of a job locked elsewhere waits for a later claim), the candidates picked,
    and the claim with COMMIT. Three round trips and one commit for the report and the
    claim together.

    None when a rate limit or a running quota touches a candidate: those rows must be
    locked waiting, before any run, so that claim needs its own transaction; nothing was
    committed (the caller commits the report, then claims)."""
    pg = await driver(conn)
    ready = terms.ready(terms.limit * 4)
    async with pg.pipeline():
        await finish(pg)
        look = pg.cursor()
        await look.execute(LOOK_LIMITS[terms.shape], ready)
        seen = await look.fetchall()
    if any(row[4] for row in seen):
        return None
    if not seen:
        await pg.commit()
        return [], [], {}
    limited = sorted({row[1] for row in seen if not row[2]})
    async with pg.pipeline():
        jobs, running, pick = pg.cursor(), pg.cursor(), pg.cursor()
        if limited:
            await jobs.execute(LOCK_JOBS_FREE, {"jobs": limited})
            await running.execute(RUNNING, {"jobs": limited})
        await pick.execute(PICK[terms.shape], ready)
        limits = Limits.of(
            jobs=await jobs.fetchall() if limited else [],
            running=dict(await running.fetchall()) if limited else {},
            quotas=[],
            running_ns={},
            rates=[],
            tags=[],
            namespaces={},
        )
        rows = await pick.fetchall()
    # a job not locked has no room: its runs wait (``choose_runs``)
    picked = limits.choose(rows, {row[1] for row in seen}, terms.limit, terms.now)
    if held is not None:
        held.update(limits.held)
    return await _claim(pg, picked, terms, limits)


async def _claim(pg: Any, picked: list[str], terms: Terms, limits: Limits | None) -> Claimed:
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
        if limits is not None and limits.windows:
            await pg.cursor().executemany(WINDOW, limits.starts())
        await pg.commit()  # in the same round trip; the caller's commit then has nothing to do
        claimed = await claim.fetchall()
        found = {j[0]: j for j in await jobs.fetchall()}
    return picked, claimed, found
