"""The scheduler's writes (due jobs → runs, in batches), the event outbox reads, and stats."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from tickwork.domain.jobs import Job
from tickwork.domain.queries import NewRun
from tickwork.domain.records import TickResult
from tickwork.domain.runs import Event
from tickwork.domain.scheduling import TickPlan
from tickwork.store import tables as t
from tickwork.store.base import PendingEvents
from tickwork.store.dialect import limit_idle_transaction
from tickwork.store.locking import no_key_update
from tickwork.store.rows import event_from_row, job_from_row
from tickwork.store.runs_sql import run_values
from tickwork.store.workers_sql import WorkerStore

R = t.runs.c
J = t.jobs.c

# (job, plan, next due time) for one due job; the planner is pure domain code.
Planner = Callable[[Job], tuple[TickPlan, datetime | None]]


class ScheduleStore(WorkerStore):
    async def schedule_fire(
        self, *, now: datetime, limit: int, planner: Planner, idle_limit: float | None = None
    ) -> TickResult:
        """Turn due jobs into runs: one transaction, a few statements for the whole batch.

        ``idle_limit`` (the leader lease): the database aborts the transaction if the
        scheduler leaves it idle that long, so a leader cut off mid-pass neither keeps the due
        jobs locked from its successor nor commits a stale pass when the network heals.
        """
        async with self._write(now) as (conn, events):
            if idle_limit is not None:
                await limit_idle_transaction(conn, idle_limit)
            due = (
                await conn.execute(
                    no_key_update(  # jobs first (the lock order); one tick per job at a time
                        sa.select(t.jobs)
                        .where(J.enabled.is_(True), J.next_run <= now)
                        .order_by(J.next_run)
                        .limit(limit),
                        self.dialect,
                        skip_locked=True,
                    )
                )
            ).all()
            if not due:
                return TickResult(0, 0, 0, [])
            active = await self._active_runs(conn, [j.id for j in due])
            ticks: list[tuple[dict[str, Any], datetime]] = []
            skipped = 0
            advance: list[dict[str, Any]] = []
            superseding: list[str] = []
            for row in due:
                plan, next_due = planner(job_from_row(row))
                skipped += _record_skips(events, row, plan)
                was_active = row.id in active
                fired = _tick_runs(events, row, plan, active, now)
                if fired and was_active and row.spec.get("on_overlap") == "cancel_previous":
                    superseding.append(row.id)
                ticks += fired
                advance.append({"b_id": row.id, "b_old": row.next_run, "b_new": next_due})
            values = [v for v, _ in ticks]
            # before the new runs exist; all the jobs' runs in one statement, by id
            stopping = await self._cancel_active(conn, events, superseding, now)
            created = await self._insert_runs(conn, events, values, {r.id: r.name for r in due})
            await conn.execute(
                sa.update(t.jobs)
                .where(J.id == sa.bindparam("b_id"), J.next_run == sa.bindparam("b_old"))
                .values(next_run=sa.bindparam("b_new")),
                advance,
            )
            fired_jobs = sorted({v["job_id"] for v in values})
            await self._touch_job(conn, fired_jobs, "queued", now)
        lags = [
            (now - due_at).total_seconds()
            for (_, due_at), (_, made) in zip(ticks, created, strict=True)
            if made
        ]
        return TickResult(len(due), len(lags), skipped, lags, stopping)

    async def schedule_next_due(self) -> datetime | None:
        """When the next enabled job is due (the partial index ix_jobs_due answers it)."""
        async with self._read() as conn:
            value: datetime | None = (
                await conn.execute(sa.select(sa.func.min(J.next_run)).where(J.enabled.is_(True)))
            ).scalar_one()
        return value

    async def events_since(
        self, after: int, *, limit: int = 1000, job_id: str | None = None, run_id: str | None = None
    ) -> list[Event]:
        e = t.events.c
        stmt = sa.select(t.events).where(e.id > after).order_by(e.id).limit(limit)
        if job_id:
            stmt = stmt.where(e.job_id == job_id)
        if run_id:
            stmt = stmt.where(e.run_id == run_id)
        async with self._read() as conn:
            return [event_from_row(r) for r in (await conn.execute(stmt)).all()]

    async def events_history(
        self,
        *,
        limit: int,
        before: int | None = None,
        job_id: str | None = None,
        run_id: str | None = None,
        types: list[str] | None = None,
    ) -> list[Event]:
        """Stored events, newest first (they are kept for the retention period)."""
        e = t.events.c
        stmt = sa.select(t.events).order_by(e.id.desc()).limit(limit)
        if before is not None:
            stmt = stmt.where(e.id < before)
        if job_id:
            stmt = stmt.where(e.job_id == job_id)
        if run_id:
            stmt = stmt.where(e.run_id == run_id)
        if types:
            stmt = stmt.where(e.type.in_(types))
        async with self._read() as conn:
            return [event_from_row(r) for r in (await conn.execute(stmt)).all()]

    async def events_last_id(self) -> int:
        async with self._read() as conn:
            value = (await conn.execute(sa.select(sa.func.max(t.events.c.id)))).scalar()
        return int(value or 0)

    async def events_prune(self, *, before: datetime, now: datetime) -> int:
        async with self._write(now) as (conn, _events):
            res = await conn.execute(sa.delete(t.events).where(t.events.c.created_at < before))
        return int(res.rowcount or 0)

    async def stats(self, *, now: datetime) -> dict[str, Any]:
        day = now - timedelta(hours=24)
        async with self._read() as conn:
            by_status: dict[str, int] = dict(
                (await conn.execute(sa.select(R.status, sa.func.count()).group_by(R.status))).all()
            )
            jobs = (
                await conn.execute(
                    sa.select(sa.func.count(), sa.func.count().filter(J.enabled.is_(True)))
                )
            ).one()
            ready = (
                await conn.execute(
                    sa.select(sa.func.count()).where(
                        R.status == "queued", sa.or_(R.not_before.is_(None), R.not_before <= now)
                    )
                )
            ).scalar_one()
            failed_24h = (
                await conn.execute(
                    sa.select(sa.func.count()).where(R.status == "failed", R.finished_at >= day)
                )
            ).scalar_one()
            workers = (
                await conn.execute(
                    sa.select(
                        sa.func.count(), sa.func.coalesce(sa.func.sum(t.workers.c.concurrency), 0)
                    ).where(t.workers.c.status == "online")
                )
            ).one()
            oldest_due = (
                await conn.execute(
                    sa.select(sa.func.min(J.next_run)).where(J.enabled.is_(True), J.next_run <= now)
                )
            ).scalar()
            series = (
                await conn.execute(
                    sa.select(R.status, R.finished_at).where(
                        R.finished_at >= day, R.status.in_(("completed", "failed"))
                    )
                )
            ).all()
        return {
            "by_status": by_status,
            "jobs": jobs[0],
            "jobs_enabled": jobs[1],
            "ready": ready,
            "failed_24h": failed_24h,
            "workers_online": workers[0],
            "slots": int(workers[1]),
            "oldest_due": oldest_due,
            "finished_24h": series,
        }


def _tick_runs(
    events: PendingEvents, row: Any, plan: TickPlan, active: dict[str, str], now: datetime
) -> list[tuple[dict[str, Any], datetime]]:
    """The new runs of one due job's ticks, each with its fire time (nominal tick + the job's
    jitter offset); on_overlap=skip: none while one is active."""
    out: list[tuple[dict[str, Any], datetime]] = []
    for tick in plan.fire:
        if row.spec.get("on_overlap", "skip") == "skip" and row.id in active:
            events.add(
                "run.skipped",
                job_id=row.id,
                data={
                    "scheduled_for": tick.isoformat(),
                    "reason": "previous run still active (on_overlap=skip)",
                    "active_run": active[row.id],
                },
            )
            continue
        new = NewRun(
            job_id=row.id,
            trigger="schedule",
            scheduled_for=tick,
            idempotency_key=f"tick-{tick.strftime('%Y%m%dT%H%M%S.%fZ')}",
            due_at=plan.fire_at(tick),
        )
        out.append((run_values(row, new, now), plan.fire_at(tick)))
        active[row.id] = out[-1][0]["id"]
    return out


def _record_skips(events: PendingEvents, row: Any, plan: TickPlan) -> int:
    for tick, reason in plan.skipped:
        events.add(
            "run.skipped", job_id=row.id, data={"scheduled_for": tick.isoformat(), "reason": reason}
        )
    hidden = plan.skipped_total - len(plan.skipped)
    if hidden > 0:
        events.add(
            "run.skipped",
            job_id=row.id,
            data={"count": hidden, "reason": f"{hidden} earlier ticks also skipped"},
        )
    return plan.skipped_total
