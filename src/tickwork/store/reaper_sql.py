"""Recovery, one pass at a time and safe on every coordinator at once: lost workers, claims
never confirmed, leases that ran out, runs that missed their start deadline."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from tickwork.domain.records import Finished, ReapResult
from tickwork.domain.runs import Completion
from tickwork.store import tables as t
from tickwork.store.database import Database
from tickwork.store.dialect import one_of
from tickwork.store.finish_hooks import after_finish
from tickwork.store.locking import lock_jobs_of_runs, lock_runs, no_key_update
from tickwork.store.pipeline_flow import lock_pipeline_runs_of
from tickwork.store.reports_sql import settle_expired
from tickwork.store.run_writes import unclaim

R = t.runs.c
W = t.workers.c
MISSED = "not started before its start_deadline"


class ReaperRows:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def reap(self, *, now: datetime, lost_after: float, limit: int = 500) -> ReapResult:
        """One pass of recovery; safe to run on every coordinator at once.

        Each step first asks, in one read (one round trip in autocommit), whether it has
        anything to do, at the moment it would have looked: a pass with nothing to do (nearly
        every pass, on every coordinator, every second) opens no write transaction."""
        cutoff = now - timedelta(seconds=lost_after)
        running = R.status == "running"
        lost: list[str] = []
        if await self._any(t.workers, W.status == "online", W.last_heartbeat < cutoff):
            lost = await self._mark_lost_workers(now, lost_after)
        unacked: list[str] = []
        late = sa.or_(R.ack_deadline < now, R.lease_expires_at < now)
        if await self._any(t.runs, running, R.started_at.is_(None), late):
            unacked = await self._requeue_unacked(now, limit)
        expired: list[str] = []
        if await self._any(t.runs, running, R.started_at.isnot(None), R.lease_expires_at < now):
            expired = await self._expire_leases(now, limit)
        missed: list[str] = []
        if await self._any(t.runs, R.status == "queued", R.deadline_at < now):
            missed = await self._mark_missed(now, limit)
        return ReapResult(lost, expired, unacked, missed)

    async def _any(self, table: sa.Table, *where: sa.ColumnElement[bool]) -> bool:
        """Whether a row matches (a step's own predicate; what changes after is the step's
        to see, or the next pass's)."""
        stmt = sa.select(sa.exists(sa.select(sa.literal(1)).select_from(table).where(*where)))
        async with self.db.read() as conn:
            return bool((await conn.execute(stmt)).scalar())

    async def _mark_lost_workers(self, now: datetime, lost_after: float) -> list[str]:
        cutoff = now - timedelta(seconds=lost_after)
        silent = (W.status == "online", W.last_heartbeat < cutoff)
        async with self.db.write(now) as (conn, events):
            # a worker whose heartbeat holds its row right now is not lost: skip it
            held = sa.select(W.id).where(*silent).order_by(W.id)
            held = no_key_update(held, self.db.dialect, skip_locked=True)
            lost = list((await conn.execute(held)).scalars())
            if not lost:
                return []
            await conn.execute(
                sa.update(t.workers)
                .where(one_of(W.id, lost, self.db.dialect), *silent)
                .values(status="lost")
            )
            # their leases end now, so the next step reclaims the runs
            runs = await lock_runs(
                conn,
                self.db.dialect,
                one_of(R.worker_id, lost, self.db.dialect),
                R.status == "running",
            )
            if runs:
                await conn.execute(
                    sa.update(t.runs)
                    .where(
                        one_of(R.id, [r.id for r in runs], self.db.dialect), R.status == "running"
                    )
                    .values(lease_expires_at=now)
                )
            for wid in lost:
                events.add("worker.lost", data={"worker": wid})
        return lost

    async def _requeue_unacked(self, now: datetime, limit: int) -> list[str]:
        async with self.db.write(now) as (conn, events):
            rows = await unclaim(
                conn,
                self.db.dialect,
                events,
                sa.or_(R.ack_deadline < now, R.lease_expires_at < now),
                reason="claim not confirmed in time",
                skip_locked=True,
                limit=limit,
            )
        return [r.id for r in rows]

    async def _expire_leases(self, now: datetime, limit: int) -> list[str]:
        async with self.db.read() as conn:
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
        results = await settle_expired(self.db, lost, now=now)
        return [r.run_id for r in results if r.ok]

    async def _mark_missed(self, now: datetime, limit: int) -> list[str]:
        late = (R.status == "queued", R.deadline_at < now)
        async with self.db.write(now) as (conn, events):
            due = (
                (await conn.execute(sa.select(R.id).where(*late).order_by(R.id).limit(limit)))
                .scalars()
                .all()
            )
            if not due:
                return []
            # the pipeline runs they are tasks of, then the jobs depending on theirs (the lock
            # order): a missed run may advance the one and queue runs of the others
            await lock_pipeline_runs_of(conn, self.db.dialect, due)
            await lock_jobs_of_runs(conn, self.db.dialect, [], dependents_of=due)
            held = await lock_runs(
                conn, self.db.dialect, one_of(R.id, due, self.db.dialect), *late, skip_locked=True
            )
            if not held:
                return []
            rows = (
                await conn.execute(
                    sa.update(t.runs)
                    .where(
                        one_of(R.id, [r.id for r in held], self.db.dialect), R.status == "queued"
                    )
                    .values(
                        status="missed",
                        finished_at=now,
                        error=MISSED,
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
            ended = [Finished(r.job_id, r.id, "missed", MISSED) for r in rows]
            await after_finish(conn, self.db.dialect, events, ended, now)
        return [r.id for r in rows]
