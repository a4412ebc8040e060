"""The worker protocol: claim, start, log, complete, heartbeat, reap. Fences guard every write."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from tickwork.domain.runs import Assignment
from tickwork.store import tables as t
from tickwork.store.dialect import one_of
from tickwork.store.locking import lock_jobs, no_key_update
from tickwork.store.rows import run_from_row
from tickwork.store.runs_sql import RunStore

R = t.runs.c


def _target(spec: dict[str, Any]) -> dict[str, Any]:
    kind = spec["type"]
    if kind == "python":
        return {"function": spec["function"]}
    if kind == "shell":
        return {"command": spec["command"]}
    return {"request": spec["request"]}


class ProtocolStore(RunStore):
    async def run_claim(
        self,
        *,
        worker_id: str,
        routes: Sequence[str],
        limit: int,
        lease: float,
        ack_timeout: float,
        now: datetime,
    ) -> list[Assignment]:
        """Claim up to ``limit`` runs for a worker in one conditional statement."""
        if limit <= 0 or not routes:
            return []
        async with self._write(now) as (conn, _events):
            picked = await self._pick(conn, routes, limit, now)
            if not picked:
                return []
            full = (
                await conn.execute(
                    sa.update(t.runs)
                    .where(one_of(R.id, picked, self.dialect), R.status == "queued")
                    .values(
                        status="running",
                        worker_id=worker_id,
                        fence=R.fence + 1,
                        claimed_at=now,
                        started_at=None,
                        lease_expires_at=now + timedelta(seconds=lease),
                        ack_deadline=now + timedelta(seconds=ack_timeout),
                        cancel_requested=False,
                    )
                    .returning(*t.runs.c)
                )
            ).all()
            jobs = {
                j.id: j
                for j in await conn.execute(
                    sa.select(t.jobs.c.id, t.jobs.c.name, t.jobs.c.spec).where(
                        one_of(t.jobs.c.id, {r.job_id for r in full}, self.dialect)
                    )
                )
            }
        ack = now + timedelta(seconds=ack_timeout)
        order = {rid: i for i, rid in enumerate(picked)}
        out = []
        for r in sorted(full, key=lambda r: order[r.id]):
            job = jobs[r.job_id]
            run = run_from_row(r, job_name=job.name)
            out.append(
                Assignment(
                    run=run,
                    job_type=job.spec["type"],
                    target=_target(job.spec),
                    isolation=job.spec.get("isolation", "pool"),
                    ack_deadline=ack,
                )
            )
        return out

    async def _pick(
        self, conn: AsyncConnection, routes: Sequence[str], limit: int, now: datetime
    ) -> list[str]:
        """Choose claimable runs: highest priority, oldest first, within each job's concurrency.

        The lock order (store/locking.py): the jobs whose concurrency is counted are locked
        (waiting) before any run, then the runs with SKIP LOCKED, so a claim never waits while
        holding a run.
        """
        ready = (
            R.status == "queued",
            one_of(R.route, routes, self.dialect),
            sa.or_(R.not_before.is_(None), R.not_before <= now),
        )
        cand = (
            sa.select(R.id, R.job_id, R.bypass_concurrency)
            .where(*ready)
            .order_by(R.priority.desc(), R.queued_at, R.id)
            .limit(limit * 4)
        )
        seen = (await conn.execute(cand)).all()
        if not seen:
            return []
        room = await self._room(conn, sorted({r.job_id for r in seen if not r.bypass_concurrency}))
        rows = (await conn.execute(no_key_update(cand, self.dialect, skip_locked=True))).all()
        picked: list[str] = []
        for r in rows:
            if len(picked) >= limit:
                break
            if r.bypass_concurrency:
                picked.append(r.id)
            elif room.get(r.job_id, 0) > 0:  # a job not locked above has no room counted
                room[r.job_id] -= 1
                picked.append(r.id)
        return picked

    async def _room(self, conn: AsyncConnection, job_ids: list[str]) -> dict[str, int]:
        """Lock these jobs and count how many more runs of each may start."""
        if not job_ids:
            return {}
        jobs = await lock_jobs(
            conn, self.dialect, job_ids, columns=(t.jobs.c.id, t.jobs.c.concurrency)
        )
        running: dict[str, int] = dict(
            (
                await conn.execute(
                    sa.select(R.job_id, sa.func.count())
                    .where(one_of(R.job_id, job_ids, self.dialect), R.status == "running")
                    .group_by(R.job_id)
                )
            ).all()
        )
        return {j.id: j.concurrency - running.get(j.id, 0) for j in jobs}
