"""Workers and the reaper: registration, heartbeats that extend leases, recovery."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from tickwork.domain.errors import NotFound
from tickwork.domain.records import HeartbeatResult, ReapResult
from tickwork.domain.runs import Completion, Worker
from tickwork.store import tables as t
from tickwork.store.base import PendingEvents
from tickwork.store.dialect import one_of
from tickwork.store.locking import (
    lock_jobs_of_runs,
    lock_runs,
    no_key_update,
    retry_lock_conflicts,
)
from tickwork.store.reports_sql import ReportStore
from tickwork.store.rows import worker_from_row

R = t.runs.c
W = t.workers.c


class WorkerStore(ReportStore):
    async def worker_register(self, worker: Worker, *, now: datetime) -> None:
        async with self._write(now) as (conn, events):
            await conn.execute(
                sa.insert(t.workers).values(
                    id=worker.id,
                    hostname=worker.hostname,
                    pid=worker.pid,
                    tags=list(worker.tags),
                    concurrency=worker.concurrency,
                    version=worker.version,
                    status="online",
                    registered_at=now,
                    last_heartbeat=now,
                )
            )
            events.add(
                "worker.joined",
                data={"worker": worker.id, "hostname": worker.hostname, "tags": list(worker.tags)},
            )

    async def worker_heartbeat(
        self, worker_id: str, *, runs: Sequence[tuple[str, int]], lease: float, now: datetime
    ) -> HeartbeatResult:
        """Record a heartbeat and extend the leases the worker still owns (a lost deadlock
        against a transaction outside the lock order is retried, never an error)."""
        return await retry_lock_conflicts(
            lambda: self._heartbeat(worker_id, runs=runs, lease=lease, now=now)
        )

    async def _heartbeat(
        self, worker_id: str, *, runs: Sequence[tuple[str, int]], lease: float, now: datetime
    ) -> HeartbeatResult:
        async with self._write(now) as (conn, _events):
            res = await conn.execute(  # a lost worker comes back; one that left does not
                sa.update(t.workers)
                .where(W.id == worker_id, W.status != "offline")
                .values(last_heartbeat=now, status="online")
                .returning(W.status)
            )
            if res.first() is None:
                raise NotFound(f"no worker '{worker_id}' (register again)")
            owned = await lock_runs(
                conn,
                self.dialect,
                R.worker_id == worker_id,
                R.status == "running",
                columns=(R.id, R.fence, R.cancel_requested),
            )
            mine = {(r.id, r.fence) for r in owned}
            if mine:
                await conn.execute(
                    sa.update(t.runs)
                    .where(
                        one_of(R.id, [r.id for r in owned], self.dialect),
                        R.worker_id == worker_id,
                        R.status == "running",
                    )
                    .values(lease_expires_at=now + timedelta(seconds=lease))
                )
            stale = [rid for rid, fence in runs if (rid, fence) not in mine]
            cancel = [r.id for r in owned if r.cancel_requested]
        return HeartbeatResult(cancel=cancel, stale=stale)

    async def worker_cancels(self, worker_id: str) -> list[str]:
        stmt = sa.select(R.id).where(
            R.worker_id == worker_id, R.status == "running", R.cancel_requested.is_(True)
        )
        async with self._read() as conn:
            return list((await conn.execute(stmt)).scalars())

    async def worker_deregister(self, worker_id: str, *, now: datetime) -> list[str]:
        """Mark a worker gone; runs it claimed but never started go back to the queue."""
        async with self._write(now) as (conn, events):
            res = await conn.execute(
                sa.update(t.workers)
                .where(W.id == worker_id)
                .values(status="offline", last_heartbeat=now)
                .returning(W.id)
            )
            if res.first() is None:
                raise NotFound(f"no worker '{worker_id}'")
            back = await _unclaim(
                conn, events, self.dialect, R.worker_id == worker_id, reason="handed back"
            )
            events.add("worker.left", data={"worker": worker_id})
        return [r.id for r in back]

    async def workers_list(self) -> list[Worker]:
        active = (
            sa.select(R.worker_id, sa.func.count().label("n"))
            .where(R.status == "running")
            .group_by(R.worker_id)
            .subquery()
        )
        stmt = (
            sa.select(t.workers, sa.func.coalesce(active.c.n, 0).label("active"))
            .outerjoin(active, active.c.worker_id == W.id)
            .order_by(W.status, W.registered_at.desc())
        )
        async with self._read() as conn:
            return [worker_from_row(r, r.active) for r in (await conn.execute(stmt)).all()]

    async def worker_get(self, worker_id: str) -> Worker | None:
        async with self._read() as conn:
            row = (await conn.execute(sa.select(t.workers).where(W.id == worker_id))).first()
        return worker_from_row(row) if row else None

    async def reap(self, *, now: datetime, lost_after: float, limit: int = 500) -> ReapResult:
        """One pass of recovery; safe to run on every coordinator at once."""
        lost = await self._mark_lost_workers(now, lost_after)
        unacked = await self._requeue_unacked(now, limit)
        expired = await self._expire_leases(now, limit)
        missed = await self._mark_missed(now, limit)
        return ReapResult(lost, expired, unacked, missed)

    async def _mark_lost_workers(self, now: datetime, lost_after: float) -> list[str]:
        cutoff = now - timedelta(seconds=lost_after)
        silent = (W.status == "online", W.last_heartbeat < cutoff)
        async with self._write(now) as (conn, events):
            # a worker whose heartbeat holds its row right now is not lost: skip it
            held = sa.select(W.id).where(*silent).order_by(W.id)
            held = no_key_update(held, self.dialect, skip_locked=True)
            lost = list((await conn.execute(held)).scalars())
            if not lost:
                return []
            await conn.execute(
                sa.update(t.workers)
                .where(one_of(W.id, lost, self.dialect), *silent)
                .values(status="lost")
            )
            # their leases end now, so the next step reclaims the runs
            runs = await lock_runs(
                conn, self.dialect, one_of(R.worker_id, lost, self.dialect), R.status == "running"
            )
            if runs:
                await conn.execute(
                    sa.update(t.runs)
                    .where(one_of(R.id, [r.id for r in runs], self.dialect), R.status == "running")
                    .values(lease_expires_at=now)
                )
            for wid in lost:
                events.add("worker.lost", data={"worker": wid})
        return lost

    async def _requeue_unacked(self, now: datetime, limit: int) -> list[str]:
        async with self._write(now) as (conn, events):
            rows = await _unclaim(
                conn,
                events,
                self.dialect,
                sa.or_(R.ack_deadline < now, R.lease_expires_at < now),
                reason="claim not confirmed in time",
                skip_locked=True,
                limit=limit,
            )
        return [r.id for r in rows]

    async def _expire_leases(self, now: datetime, limit: int) -> list[str]:
        async with self._read() as conn:
            rows = (
                await conn.execute(
                    sa.select(R.id, R.fence)
                    .where(
                        R.status == "running", R.started_at.isnot(None), R.lease_expires_at < now
                    )
                    .limit(limit)
                )
            ).all()
        if not rows:
            return []
        lost = [
            Completion(
                run_id=r.id, fence=r.fence, outcome="lost", error="worker lost: lease expired"
            )
            for r in rows
        ]
        results = await self.runs_complete(lost, worker_id=None, now=now)
        return [r.run_id for r in results if r.ok]

    async def _mark_missed(self, now: datetime, limit: int) -> list[str]:
        late = (R.status == "queued", R.deadline_at < now)
        async with self._write(now) as (conn, events):
            due = (
                (await conn.execute(sa.select(R.id).where(*late).order_by(R.id).limit(limit)))
                .scalars()
                .all()
            )
            if not due:
                return []
            await lock_jobs_of_runs(conn, self.dialect, due)  # the lock order: jobs, then runs
            held = await lock_runs(
                conn, self.dialect, one_of(R.id, due, self.dialect), *late, skip_locked=True
            )
            if not held:
                return []
            rows = (
                await conn.execute(
                    sa.update(t.runs)
                    .where(one_of(R.id, [r.id for r in held], self.dialect), R.status == "queued")
                    .values(
                        status="missed",
                        finished_at=now,
                        error="not started before its start_deadline",
                    )
                    .returning(R.id, R.job_id)
                )
            ).all()
            for r in rows:
                events.add(
                    "run.missed",
                    job_id=r.job_id,
                    run_id=r.id,
                    data={"status": "missed", "reason": "not started before its start_deadline"},
                )
            await self._touch_job(conn, sorted({r.job_id for r in rows}), "missed", now)
        return [r.id for r in rows]


async def _unclaim(
    conn: AsyncConnection,
    events: PendingEvents,
    dialect: str,
    which: sa.ColumnElement[bool],
    *,
    reason: str,
    skip_locked: bool = False,
    limit: int | None = None,
) -> list[Any]:
    """Claimed runs that never started go back to the queue (no attempt was made)."""
    unstarted = (which, R.status == "running", R.started_at.is_(None))
    held = await lock_runs(conn, dialect, *unstarted, skip_locked=skip_locked, limit=limit)
    if not held:
        return []
    rows = (
        await conn.execute(
            sa.update(t.runs)
            .where(one_of(R.id, [r.id for r in held], dialect), *unstarted)
            .values(status="queued", worker_id=None, lease_expires_at=None, ack_deadline=None)
            .returning(R.id, R.job_id)
        )
    ).all()
    for r in rows:
        events.add(
            "run.queued", job_id=r.job_id, run_id=r.id, data={"status": "queued", "reason": reason}
        )
    return list(rows)
