"""Claims: a worker takes runs it may execute, each with a lease and a new fence.

One transaction per claim: choose (highest priority, oldest first, within each job's
concurrency, its namespace's running quota and the rate windows of its job and tags:
domain/quotas.py), then one UPDATE that sets them running for the worker and returns what
the worker needs, then the jobs' targets in one read (and the rate windows' new starts).
On PostgreSQL the same steps go in raw, pipelined statements (``claims_pg``); this module's
SQLAlchemy path serves SQLite.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from tickwork.domain.runs import Assignment
from tickwork.store import tables as t
from tickwork.store.claims_pg import Claimed, Limits, Terms, claim_bypassing, claim_limited
from tickwork.store.database import Database
from tickwork.store.dialect import one_of
from tickwork.store.locking import lock_jobs, no_key_update
from tickwork.store.run_writes import EARLIER, TICK_DECIDED

R = t.runs.c
J = t.jobs.c
Q = t.namespace_quotas.c
L = t.rate_limits.c

FREE = sa.and_(
    R.bypass_concurrency,
    ~sa.exists().where(L.job_id == R.job_id),
    ~sa.exists().where(L.namespace == R.namespace, L.tag.is_not(None)),
    ~sa.exists().where(Q.namespace == R.namespace, Q.max_running.is_not(None)),
).label("free")
"""A run under no limit: bypasses its job's concurrency, no rate limit of its job or its
namespace's tags, no running quota of its namespace (the same test as claims_pg's)."""

CLAIMED = (
    R.id,
    R.job_id,
    R.fence,
    R.attempt,
    R.idempotency_key,
    R.parameters,
    R.timeout,
    R.upstream,
)


def _target(spec: dict[str, Any]) -> dict[str, Any]:
    kind = spec["type"]
    if kind == "python":
        return {"function": spec["function"]}
    if kind == "shell":
        return {"command": spec["command"], "cwd": spec.get("cwd"), "env": spec.get("env") or {}}
    return {"request": spec["request"]}


LIMITED_FOR = 1.0
"""Seconds the claims of a set of routes go the general way after finding a run there whose
job counts its running runs."""


class _Claimed(NamedTuple):
    id: str
    job_id: str
    fence: int
    attempt: int
    idempotency_key: str
    parameters: Any
    timeout: float
    upstream: Any


class _Job(NamedTuple):
    id: str
    name: str
    spec: Any


class ClaimRows:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._limited_until: dict[tuple[tuple[str, ...], tuple[str, ...] | None], float] = {}
        self.on_held: Callable[[dict[str, int]], None] | None = None
        """Told the runs each claim's limits held back, by kind (a metric)."""

    async def claim(
        self,
        *,
        worker_id: str,
        routes: Sequence[str],
        limit: int,
        lease: float,
        ack_timeout: float,
        now: datetime,
        namespaces: Sequence[str] | None = None,
    ) -> list[Assignment]:
        """Claim up to ``limit`` runs for a worker (in the order they should start); a worker
        limited to ``namespaces`` only runs of those (``ix_runs_claimable_namespace``)."""
        if limit <= 0 or not routes:
            return []
        expires = now + timedelta(seconds=lease)
        ack = now + timedelta(seconds=ack_timeout)
        if self.db.is_postgres:
            terms = Terms(worker_id, routes, limit, now, expires, ack, namespaces)
            return await self._claim_pg(terms)
        async with self.db.write(now) as (conn, _events):
            picked, limits = await self._pick(conn, routes, limit, now, namespaces)
            self.held(limits.held)
            if not picked:
                return []
            for key, window in limits.windows.items():
                await conn.execute(
                    sa.update(t.rate_limits).where(L.key == key).values(starts=window.starts)
                )
            claimed = (
                await conn.execute(
                    sa.update(t.runs)
                    .where(one_of(R.id, picked, self.db.dialect), R.status == "queued")
                    .values(
                        status="running",
                        worker_id=worker_id,
                        fence=R.fence + 1,
                        claimed_at=now,
                        started_at=None,
                        lease_expires_at=expires,
                        ack_deadline=ack,
                        cancel_requested=False,
                        ahead=None,  # claimed: an ordinary run from now on (retries, requeues)
                    )
                    .returning(*CLAIMED)
                )
            ).all()
            jobs = {
                j.id: j
                for j in await conn.execute(
                    sa.select(J.id, J.name, J.spec).where(
                        one_of(J.id, {r.job_id for r in claimed}, self.db.dialect)
                    )
                )
            }
        order = {rid: i for i, rid in enumerate(picked)}
        return [
            _assignment(r, jobs[r.job_id], worker_id, expires, ack)
            for r in sorted(claimed, key=lambda r: order[r.id])
        ]

    def held(self, held: dict[str, int]) -> None:
        """Tell ``on_held`` the runs a claim's limits held back."""
        if held and self.on_held is not None:
            self.on_held(held)

    async def _claim_pg(self, terms: Terms) -> list[Assignment]:
        async with self.db.write(terms.now) as (conn, _events):
            got = None
            if self.may_bypass(terms):
                got = await claim_bypassing(conn, terms)
                if got is None:
                    self.limited(terms)
            if got is None:
                held: dict[str, int] = {}
                got = await claim_limited(conn, terms, held)
                self.held(held)
        return assignments(got, terms)

    @staticmethod
    def _key(terms: Terms) -> tuple[tuple[str, ...], tuple[str, ...] | None]:
        return tuple(terms.routes), None if terms.namespaces is None else tuple(terms.namespaces)

    def may_bypass(self, terms: Terms) -> bool:
        """Whether these routes' claims try the one-statement bypassing claim first (not
        while they recently held runs of jobs that count their running runs)."""
        return time.monotonic() >= self._limited_until.get(self._key(terms), 0.0)

    def limited(self, terms: Terms) -> None:
        """These routes hold runs of jobs that count their running runs: the limited claim
        for a while, rather than a wasted bypassing try before each."""
        self._limited_until[self._key(terms)] = time.monotonic() + LIMITED_FOR

    async def _pick(
        self,
        conn: AsyncConnection,
        routes: Sequence[str],
        limit: int,
        now: datetime,
        namespaces: Sequence[str] | None = None,
    ) -> tuple[list[str], Limits]:
        """Choose claimable runs: highest priority, oldest first, within each job's
        concurrency, its namespace's running quota and its rate limits.

        The lock order (store/locking.py): the jobs whose concurrency is counted, the
        quotas and the rate limits are locked (waiting) before any run, then the runs with
        SKIP LOCKED, so a claim never waits while holding a run.
        """
        ready: tuple[sa.ColumnElement[bool], ...] = (
            R.status == "queued",
            one_of(R.route, routes, self.db.dialect),
            R.queued_at <= now,  # runs waiting ahead passed over in the index (claims_pg)
            sa.or_(R.not_before.is_(None), R.not_before <= now),
            # a skip or cancel_previous run written ahead: only while no earlier run of its
            # job is active (the overlap decision at the tick, domain/overlap.py at_tick)
            sa.or_(R.ahead.is_(None), R.ahead.not_in(TICK_DECIDED), sa.not_(EARLIER)),
        )
        if namespaces is not None:
            ready = (*ready, one_of(R.namespace, namespaces, self.db.dialect))
        cand = (
            sa.select(R.id, R.job_id, R.bypass_concurrency, R.namespace, FREE)
            .where(*ready)
            .order_by(R.priority.desc(), R.queued_at, R.id)
            .limit(limit * 4)
        )
        seen = (await conn.execute(cand)).all()
        if not seen:
            return [], Limits()
        limits = await self._limits(conn, seen)
        rows = (await conn.execute(no_key_update(cand, self.db.dialect, skip_locked=True))).all()
        return limits.choose(rows, {r.job_id for r in seen}, limit, now), limits

    async def _limits(self, conn: AsyncConnection, seen: Sequence[Any]) -> Limits:
        """Lock what the candidates start under and count its room."""
        dialect = self.db.dialect
        limited = sorted({r.job_id for r in seen if not r.bypass_concurrency})
        touched = sorted({r.job_id for r in seen if not r.free})
        spaces = sorted({r.namespace for r in seen if not r.free})
        jobs: Sequence[Any] = []
        running: dict[str, int] = {}
        if limited:
            jobs = await lock_jobs(conn, dialect, limited, columns=(J.id, J.concurrency))
            running = await _running(conn, R.job_id, one_of(R.job_id, limited, dialect))
        if not touched:
            return Limits.of(
                jobs=jobs,
                running=running,
                quotas=[],
                running_ns={},
                rates=[],
                tags=[],
                namespaces={},
            )
        quotas = (
            await conn.execute(
                sa.select(Q.namespace, Q.max_running)
                .where(one_of(Q.namespace, spaces, dialect), Q.max_running.is_not(None))
                .order_by(Q.namespace)
            )
        ).all()
        rates = (
            await conn.execute(
                sa.select(L.key, L.max, L.seconds, L.starts, L.job_id, L.tag)
                .where(
                    sa.or_(
                        one_of(L.job_id, touched, dialect),
                        sa.and_(one_of(L.namespace, spaces, dialect), L.tag.is_not(None)),
                    )
                )
                .order_by(L.key)
            )
        ).all()
        tags = (
            await conn.execute(
                sa.select(t.job_tags.c.job_id, t.job_tags.c.tag).where(
                    one_of(t.job_tags.c.job_id, touched, dialect)
                )
            )
        ).all()
        limited_spaces = [q.namespace for q in quotas]
        running_ns = (
            await _running(conn, R.namespace, one_of(R.namespace, limited_spaces, dialect))
            if limited_spaces
            else {}
        )
        return Limits.of(
            jobs=jobs,
            running=running,
            quotas=quotas,
            running_ns=running_ns,
            rates=rates,
            tags=tags,
            namespaces={r.job_id: r.namespace for r in seen},
        )


async def _running(
    conn: AsyncConnection, by: sa.ColumnElement[Any], where: sa.ColumnElement[bool]
) -> dict[str, int]:
    """Running runs counted by ``by`` (job id or namespace)."""
    stmt = sa.select(by, sa.func.count()).where(where, R.status == "running").group_by(by)
    return {k: int(n) for k, n in (await conn.execute(stmt)).all()}


def assignments(got: Claimed, terms: Terms) -> list[Assignment]:
    """A PostgreSQL claim's rows as the worker's assignments, in the claim's order."""
    picked, rows, found = got
    order = {rid: i for i, rid in enumerate(picked)}
    return [
        _assignment(_Claimed(*r), _Job(*found[r[1]]), terms.worker_id, terms.expires, terms.ack)
        for r in sorted(rows, key=lambda r: order[r[0]])
    ]


def _assignment(r: Any, job: Any, worker_id: str, expires: datetime, ack: datetime) -> Assignment:
    spec = job.spec
    return Assignment(
        run_id=r.id,
        job_id=r.job_id,
        job_name=job.name,
        attempt=r.attempt + 1,
        fence=r.fence,
        idempotency_key=r.idempotency_key,
        parameters=r.parameters,
        timeout=r.timeout,
        worker_id=worker_id,
        job_type=spec["type"],
        target=_target(spec),
        isolation=spec.get("isolation", "pool"),
        delivery=spec.get("delivery", "at_least_once"),
        lease_expires_at=expires,
        ack_deadline=ack,
        upstream=tuple(r.upstream or ()),
    )
