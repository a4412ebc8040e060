"""Workers: registration, heartbeats that extend the leases of the runs they hold, leaving."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import sqlalchemy as sa

from tickwork.domain.errors import NotFound
from tickwork.domain.records import HeartbeatResult
from tickwork.domain.runs import Worker
from tickwork.store import tables as t
from tickwork.store.database import Database
from tickwork.store.dialect import one_of
from tickwork.store.locking import lock_runs, retry_lock_conflicts
from tickwork.store.rows import worker_from_row
from tickwork.store.run_writes import unclaim

R = t.runs.c
W = t.workers.c


class WorkerRows:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def register(self, worker: Worker, *, now: datetime) -> None:
        async with self.db.write(now) as (conn, events):
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

    async def heartbeat(
        self, worker_id: str, *, runs: Sequence[tuple[str, int]], lease: float, now: datetime
    ) -> HeartbeatResult:
        """Record a heartbeat and extend the leases of the runs the worker names that it still
        owns (a lost deadlock against a transaction outside the lock order is retried)."""
        return await retry_lock_conflicts(
            lambda: self._heartbeat(worker_id, runs=runs, lease=lease, now=now)
        )

    async def _heartbeat(
        self, worker_id: str, *, runs: Sequence[tuple[str, int]], lease: float, now: datetime
    ) -> HeartbeatResult:
        async with self.db.write(now) as (conn, _events):
            res = await conn.execute(  # a lost worker comes back; one that left does not
                sa.update(t.workers)
                .where(W.id == worker_id, W.status != "offline")
                .values(last_heartbeat=now, status="online")
                .returning(W.status)
            )
            if res.first() is None:
                raise NotFound(f"no worker '{worker_id}' (register again)")
            named = sorted({rid for rid, _ in runs})
            owned = (
                await lock_runs(
                    conn,
                    self.db.dialect,
                    one_of(R.id, named, self.db.dialect),
                    R.worker_id == worker_id,
                    R.status == "running",
                    columns=(R.id, R.fence, R.cancel_requested),
                )
                if named
                else []
            )
            mine = {(r.id, r.fence) for r in owned}
            listed = set(runs)
            held = [r.id for r in owned if (r.id, r.fence) in listed]
            if held:
                await conn.execute(
                    sa.update(t.runs)
                    .where(one_of(R.id, held, self.db.dialect), R.status == "running")
                    .values(lease_expires_at=now + timedelta(seconds=lease))
                )
            stale = [rid for rid, fence in runs if (rid, fence) not in mine]
            cancel = [r.id for r in owned if r.cancel_requested]
        return HeartbeatResult(cancel=cancel, stale=stale)

    async def cancels(self, worker_id: str) -> list[str]:
        """The worker's running runs someone asked to stop."""
        stmt = sa.select(R.id).where(
            R.worker_id == worker_id, R.status == "running", R.cancel_requested.is_(True)
        )
        async with self.db.read() as conn:
            return list((await conn.execute(stmt)).scalars())

    async def deregister(self, worker_id: str, *, now: datetime) -> list[str]:
        """Mark a worker gone; runs it claimed but never started go back to the queue."""
        async with self.db.write(now) as (conn, events):
            res = await conn.execute(
                sa.update(t.workers)
                .where(W.id == worker_id)
                .values(status="offline", last_heartbeat=now)
                .returning(W.id)
            )
            if res.first() is None:
                raise NotFound(f"no worker '{worker_id}'")
            back = await unclaim(
                conn, self.db.dialect, events, R.worker_id == worker_id, reason="handed back"
            )
            events.add("worker.left", data={"worker": worker_id})
        return [r.id for r in back]

    async def all(self) -> list[Worker]:
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
        async with self.db.read() as conn:
            return [worker_from_row(r, r.active) for r in (await conn.execute(stmt)).all()]

    async def get(self, worker_id: str) -> Worker | None:
        async with self.db.read() as conn:
            row = (await conn.execute(sa.select(t.workers).where(W.id == worker_id))).first()
        return worker_from_row(row) if row else None
