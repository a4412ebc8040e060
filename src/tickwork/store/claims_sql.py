"""Claims: a worker takes runs it may execute, each with a lease and a new fence.

One transaction per claim: choose (highest priority, oldest first, within each job's
concurrency), then one UPDATE that sets them running for the worker and returns what the
worker needs, then the jobs' targets in one read. On PostgreSQL the same steps go in raw,
pipelined statements (``claims_pg``); this module's SQLAlchemy path serves SQLite.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from tickwork.domain.runs import Assignment
from tickwork.store import tables as t
from tickwork.store.claims_pg import Terms, choose, claim_bypassing, claim_limited
from tickwork.store.database import Database
from tickwork.store.dialect import one_of
from tickwork.store.locking import lock_jobs, no_key_update

R = t.runs.c
J = t.jobs.c

CLAIMED = (R.id, R.job_id, R.fence, R.attempt, R.idempotency_key, R.parameters, R.timeout)


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


class _Job(NamedTuple):
    id: str
    name: str
    spec: Any


class ClaimRows:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._limited_until: dict[tuple[tuple[str, ...], tuple[str, ...] | None], float] = {}

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
            picked = await self._pick(conn, routes, limit, now, namespaces)
            if not picked:
                return []
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

    async def _claim_pg(self, terms: Terms) -> list[Assignment]:
        key = (tuple(terms.routes), None if terms.namespaces is None else tuple(terms.namespaces))
        async with self.db.write(terms.now) as (conn, _events):
            got = None
            if time.monotonic() >= self._limited_until.get(key, 0.0):
                got = await claim_bypassing(conn, terms)
                if got is None:
                    # these routes hold runs of jobs that count their running runs: the
                    # limited claim for a while, rather than a wasted look before each
                    self._limited_until[key] = time.monotonic() + LIMITED_FOR
            if got is None:
                got = await claim_limited(conn, terms)
        picked, rows, found = got
        order = {rid: i for i, rid in enumerate(picked)}
        return [
            _assignment(_Claimed(*r), _Job(*found[r[1]]), terms.worker_id, terms.expires, terms.ack)
            for r in sorted(rows, key=lambda r: order[r[0]])
        ]

    async def _pick(
        self,
        conn: AsyncConnection,
        routes: Sequence[str],
        limit: int,
        now: datetime,
        namespaces: Sequence[str] | None = None,
    ) -> list[str]:
        """Choose claimable runs: highest priority, oldest first, within each job's concurrency.

        The lock order (store/locking.py): the jobs whose concurrency is counted are locked
        (waiting) before any run, then the runs with SKIP LOCKED, so a claim never waits while
        holding a run.
        """
        ready: tuple[sa.ColumnElement[bool], ...] = (
            R.status == "queued",
            one_of(R.route, routes, self.db.dialect),
            sa.or_(R.not_before.is_(None), R.not_before <= now),
        )
        if namespaces is not None:
            ready = (*ready, one_of(R.namespace, namespaces, self.db.dialect))
        cand = (
            sa.select(R.id, R.job_id, R.bypass_concurrency)
            .where(*ready)
            .order_by(R.priority.desc(), R.queued_at, R.id)
            .limit(limit * 4)
        )
        seen = (await conn.execute(cand)).all()
        if not seen:
            return []
        limited = sorted({r.job_id for r in seen if not r.bypass_concurrency})
        room = await self._room(conn, limited)
        rows = (await conn.execute(no_key_update(cand, self.db.dialect, skip_locked=True))).all()
        return choose(rows, room, limit)

    async def _room(self, conn: AsyncConnection, job_ids: list[str]) -> dict[str, int]:
        """Lock these jobs and count how many more runs of each may start."""
        if not job_ids:
            return {}
        jobs = await lock_jobs(conn, self.db.dialect, job_ids, columns=(J.id, J.concurrency))
        running: dict[str, int] = dict(
            (
                await conn.execute(
                    sa.select(R.job_id, sa.func.count())
                    .where(one_of(R.job_id, job_ids, self.db.dialect), R.status == "running")
                    .group_by(R.job_id)
                )
            ).all()
        )
        return {j.id: j.concurrency - running.get(j.id, 0) for j in jobs}


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
    )
