"""Runs: creation (trigger, bulk, schedule ticks), reads, cancel, retry, dead letters."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from tickwork.domain import ids
from tickwork.domain.errors import Conflict, NotFound
from tickwork.domain.queries import NewRun, RunFilter
from tickwork.domain.records import Triggered
from tickwork.domain.runs import ACTIVE, Attempt, DeadLetter, Run, can_transition
from tickwork.store import tables as t
from tickwork.store.base import PendingEvents, SqlBase, run_select
from tickwork.store.dialect import insert_new, one_of
from tickwork.store.jobs_sql import decode_cursor, encode_cursor
from tickwork.store.locking import lock_jobs, lock_runs
from tickwork.store.rows import attempt_from_row, dead_letter_from_row, run_from_row


def run_values(job: Any, new: NewRun, now: datetime) -> dict[str, Any]:
    """The row of a new queued run of ``job`` (a jobs row)."""
    spec = job.spec
    run_id = ids.run_id()
    deadline = None
    if spec.get("start_deadline"):
        start = new.due_at or new.scheduled_for or now  # a jittered tick counts from its fire time
        deadline = start + timedelta(seconds=spec["start_deadline"])
    return {
        "id": run_id,
        "job_id": job.id,
        "trigger": new.trigger,
        "scheduled_for": new.scheduled_for,
        "idempotency_key": new.idempotency_key or run_id,
        "parameters": {**spec.get("parameters", {}), **dict(new.parameters)},
        "status": "queued",
        "route": job.route,
        "priority": job.priority,
        "attempt": 0,
        "max_attempts": int(spec.get("retries", 3)) + 1,
        "timeout": float(spec["timeout"]),
        "bypass_concurrency": spec.get("on_overlap") == "allow",
        "fence": 0,
        "queued_at": now,
        "deadline_at": deadline,
        "cancel_requested": False,
        "upstream_run_ids": list(new.upstream_run_ids),
    }


class RunStore(SqlBase):
    async def _insert_runs(
        self,
        conn: AsyncConnection,
        events: PendingEvents,
        values: Sequence[dict[str, Any]],
        job_names: Mapping[str, str],
    ) -> list[tuple[str, bool]]:
        """Insert with ON CONFLICT DO NOTHING; return (run id, created) in input order."""
        if not values:
            return []
        created = await insert_new(conn, t.runs, list(values), key="id", dialect_name=self.dialect)
        out: list[tuple[str, bool]] = []
        for v in values:
            if v["id"] in created:
                out.append((v["id"], True))
                events.add(
                    "run.queued",
                    job_id=v["job_id"],
                    run_id=v["id"],
                    data={
                        "status": "queued",
                        "trigger": v["trigger"],
                        "job_name": job_names.get(v["job_id"], ""),
                        "attempt": 0,
                    },
                )
            else:
                out.append((await self._existing_run_id(conn, v), False))
        return out

    async def _existing_run_id(self, conn: AsyncConnection, v: Mapping[str, Any]) -> str:
        r = t.runs.c
        cond = (r.job_id == v["job_id"]) & (r.idempotency_key == v["idempotency_key"])
        if v["trigger"] == "schedule":
            cond = cond | (
                (r.job_id == v["job_id"])
                & (r.scheduled_for == v["scheduled_for"])
                & (r.trigger == "schedule")
            )
        return str((await conn.execute(sa.select(r.id).where(cond).limit(1))).scalar_one())

    async def _active_runs(self, conn: AsyncConnection, job_ids: Sequence[str]) -> dict[str, str]:
        stmt = (
            sa.select(t.runs.c.job_id, t.runs.c.id)
            .where(t.runs.c.job_id.in_(job_ids), t.runs.c.status.in_(ACTIVE))
            .order_by(t.runs.c.queued_at)
        )
        out: dict[str, str] = {}
        for row in (await conn.execute(stmt)).all():
            out.setdefault(row.job_id, row.id)
        return out

    async def _cancel_active(
        self, conn: AsyncConnection, events: PendingEvents, job_ids: Sequence[str], now: datetime
    ) -> list[tuple[str, str]]:
        """on_overlap=cancel_previous: cancel these jobs' queued runs and ask their running
        ones to stop; (run id, worker id) of the running ones, whose workers must be told.
        The caller holds the jobs' locks; the runs are locked here, by id, in one statement."""
        if not job_ids:
            return []
        r = t.runs.c
        active = await lock_runs(
            conn,
            self.dialect,
            one_of(r.job_id, job_ids, self.dialect),
            r.status.in_(("queued", "running")),
            columns=(r.id, r.job_id, r.status, r.worker_id),
        )
        queued = [a for a in active if a.status == "queued"]
        running = [a for a in active if a.status == "running"]
        if queued:
            await conn.execute(
                sa.update(t.runs)
                .where(one_of(r.id, [a.id for a in queued], self.dialect), r.status == "queued")
                .values(status="cancelled", finished_at=now, error="cancelled: superseded")
            )
        for a in queued:
            events.add(
                "run.cancelled",
                job_id=a.job_id,
                run_id=a.id,
                data={"status": "cancelled", "reason": "cancel_previous"},
            )
        if running:
            await conn.execute(
                sa.update(t.runs)
                .where(one_of(r.id, [a.id for a in running], self.dialect), r.status == "running")
                .values(cancel_requested=True)
            )
        for a in running:
            events.add(
                "run.cancelling",
                job_id=a.job_id,
                run_id=a.id,
                data={"status": "running", "reason": "cancel_previous"},
            )
        return [(a.id, a.worker_id) for a in running if a.worker_id]

    async def run_trigger(self, new: NewRun, *, now: datetime) -> Triggered:
        """Create a run honouring the idempotency key and on_overlap."""
        async with self._write(now) as (conn, events):
            [job] = await lock_jobs(conn, self.dialect, [new.job_id]) or [None]
            if job is None:
                raise NotFound(f"no job '{new.job_id}'")
            if new.idempotency_key:
                found = await self._run_by_key(conn, new.job_id, new.idempotency_key)
                if found:
                    return Triggered(found[0], found[1], False)
            overlap = job.spec.get("on_overlap", "skip")
            stopping: list[tuple[str, str]] = []
            if overlap == "skip":
                active = await self._active_runs(conn, [job.id])
                if job.id in active:
                    status = await self._run_status(conn, active[job.id])
                    return Triggered(active[job.id], status, False)
            elif overlap == "cancel_previous":
                stopping = await self._cancel_active(conn, events, [job.id], now)
            [(run_id, created)] = await self._insert_runs(
                conn, events, [run_values(job, new, now)], {job.id: job.name}
            )
            await self._touch_job(conn, [job.id], "queued", now)
        return Triggered(run_id, "queued", created, stopping)

    async def _run_by_key(
        self, conn: AsyncConnection, job_id: str, key: str
    ) -> tuple[str, str] | None:
        row = (
            await conn.execute(
                sa.select(t.runs.c.id, t.runs.c.status).where(
                    t.runs.c.job_id == job_id, t.runs.c.idempotency_key == key
                )
            )
        ).first()
        return (row.id, row.status) if row else None

    async def _run_status(self, conn: AsyncConnection, run_id: str) -> str:
        stmt = sa.select(t.runs.c.status).where(t.runs.c.id == run_id)
        return str((await conn.execute(stmt)).scalar_one())

    async def _touch_job(
        self, conn: AsyncConnection, job_ids: Sequence[str], status: str, now: datetime
    ) -> None:
        if job_ids:
            await conn.execute(
                sa.update(t.jobs)
                .where(t.jobs.c.id.in_(job_ids))
                .values(last_run_status=status, last_run_at=now)
            )

    async def runs_bulk(self, items: Sequence[NewRun], *, now: datetime) -> list[tuple[str, bool]]:
        """Enqueue many runs in one transaction (deduplicated by idempotency key)."""
        job_ids = sorted({i.job_id for i in items})
        async with self._write(now) as (conn, events):
            rows = {r.id: r for r in await lock_jobs(conn, self.dialect, job_ids)}
            values = [run_values(rows[i.job_id], i, now) for i in items]
            out = await self._insert_runs(
                conn, events, values, {j: r.name for j, r in rows.items()}
            )
            await self._touch_job(conn, job_ids, "queued", now)
        return out

    async def run_get(self, run_id: str) -> Run | None:
        async with self._read() as conn:
            return await self._run_on(conn, run_id)

    async def _run_on(self, conn: AsyncConnection, run_id: str) -> Run | None:
        row = (await conn.execute(run_select().where(t.runs.c.id == run_id))).first()
        if row is None:
            return None
        out = (
            await conn.execute(
                sa.select(t.attempts.c.stdout)
                .where(t.attempts.c.run_id == run_id)
                .order_by(t.attempts.c.number.desc())
                .limit(1)
            )
        ).scalar_one_or_none()
        return run_from_row(row, output=out or "")

    async def run_attempts(self, run_id: str) -> list[Attempt]:
        stmt = (
            sa.select(t.attempts).where(t.attempts.c.run_id == run_id).order_by(t.attempts.c.number)
        )
        async with self._read() as conn:
            return [attempt_from_row(r) for r in (await conn.execute(stmt)).all()]

    async def runs_list(
        self, flt: RunFilter, *, limit: int, cursor: str | None
    ) -> tuple[list[Run], int, str | None]:
        r = t.runs.c
        where: list[sa.ColumnElement[bool]] = []
        if flt.status:
            where.append(r.status == flt.status)
        if flt.job_id:
            where.append(r.job_id == flt.job_id)
        if flt.since:
            where.append(r.queued_at >= flt.since)
        if flt.until:
            where.append(r.queued_at < flt.until)
        page = run_select().where(*where).order_by(r.queued_at.desc(), r.id.desc()).limit(limit + 1)
        if cursor:
            at, last_id = decode_cursor(cursor, 2)
            when = datetime.fromisoformat(at)
            page = page.where(
                sa.or_(r.queued_at < when, sa.and_(r.queued_at == when, r.id < last_id))
            )
        count = sa.select(sa.func.count()).select_from(t.runs).where(*where)
        async with self._read() as conn:
            rows = (await conn.execute(page)).all()
            total = (await conn.execute(count)).scalar_one()
        runs = [run_from_row(x) for x in rows[:limit]]
        nxt = None
        if len(rows) > limit:
            nxt = encode_cursor(runs[-1].queued_at.isoformat(), runs[-1].id)
        return runs, total, nxt

    async def run_cancel(self, run_id: str, *, now: datetime) -> tuple[str, str | None]:
        """Cancel a queued run at once, or ask the worker of a running one; (status, worker).

        The job's row, then the run's, are locked first (the lock order): a claim committing
        meanwhile is waited for and seen, rather than the cancel reporting a run cancelled
        that its worker has just started.
        """
        r = t.runs.c
        async with self._write(now) as (conn, events):
            row = await self._lock_run_and_job(conn, run_id, r.status, r.job_id, r.worker_id)
            if row.status == "queued":
                await conn.execute(
                    sa.update(t.runs)
                    .where(r.id == run_id, r.status == "queued")
                    .values(status="cancelled", finished_at=now, error="cancelled by request")
                )
                events.add(
                    "run.cancelled", job_id=row.job_id, run_id=run_id, data={"status": "cancelled"}
                )
                await self._touch_job(conn, [row.job_id], "cancelled", now)
                return "cancelled", None
            if row.status == "running":
                await conn.execute(
                    sa.update(t.runs)
                    .where(r.id == run_id, r.status == "running")
                    .values(cancel_requested=True)
                )
                events.add(
                    "run.cancelling", job_id=row.job_id, run_id=run_id, data={"status": "running"}
                )
                return "running", row.worker_id
        raise Conflict(
            f"run '{run_id}' is {row.status}; only queued or running runs can be cancelled"
        )

    async def _lock_run_and_job(
        self, conn: AsyncConnection, run_id: str, *columns: sa.ColumnElement[Any]
    ) -> Any:
        """Lock a run's job, then the run (the lock order); the run's ``columns``."""
        r = t.runs.c
        job_id = (await conn.execute(sa.select(r.job_id).where(r.id == run_id))).scalar()
        if job_id is None:
            raise NotFound(f"no run '{run_id}'")
        await lock_jobs(conn, self.dialect, [job_id], columns=(t.jobs.c.id,))
        rows = await lock_runs(conn, self.dialect, r.id == run_id, columns=columns)
        if not rows:  # deleted with its job meanwhile
            raise NotFound(f"no run '{run_id}'")
        return rows[0]

    async def run_requeue(
        self, run_id: str, *, trigger: str, now: datetime, resolution: str
    ) -> Run:
        """Put a failed/cancelled/missed run back to queued for a new attempt series; the run
        as this transaction left it (a worker may claim it the moment it commits)."""
        r = t.runs.c
        async with self._write(now) as (conn, events):
            row = await self._lock_run_and_job(conn, run_id, r.status, r.job_id, r.attempt)
            if not can_transition(row.status, "queued") or row.status == "running":
                raise Conflict(
                    f"run '{run_id}' is {row.status}; only failed, cancelled or "
                    "missed runs can be retried"
                )
            res = await conn.execute(
                sa.update(t.runs)
                .where(r.id == run_id, r.status == row.status)
                .values(
                    status="queued",
                    max_attempts=r.max_attempts + row.attempt,
                    not_before=None,
                    queued_at=now,
                    finished_at=None,
                    error=None,
                    exit_code=None,
                    result=None,
                    worker_id=None,
                    cancel_requested=False,
                    deadline_at=None,
                    duration=None,
                )
            )
            if res.rowcount == 0:
                raise Conflict(f"run '{run_id}' changed meanwhile; try again")
            await conn.execute(
                sa.update(t.dead_letters)
                .where(t.dead_letters.c.run_id == run_id, t.dead_letters.c.resolved_at.is_(None))
                .values(resolved_at=now, resolution=resolution)
            )
            events.add(
                "run.queued",
                job_id=row.job_id,
                run_id=run_id,
                data={"status": "queued", "trigger": trigger, "attempt": row.attempt},
            )
            await self._touch_job(conn, [row.job_id], "queued", now)
            run = await self._run_on(conn, run_id)
        assert run is not None  # updated above, in this transaction
        return run

    async def dead_letters_list(
        self, *, resolved: bool | None, limit: int, offset: int
    ) -> tuple[list[DeadLetter], int]:
        d = t.dead_letters
        where = []
        if resolved is not None:
            where.append(d.c.resolved_at.isnot(None) if resolved else d.c.resolved_at.is_(None))
        stmt = (
            sa.select(*d.c, t.jobs.c.name.label("job_name"))
            .join(t.jobs, t.jobs.c.id == d.c.job_id)
            .where(*where)
            .order_by(d.c.created_at.desc())
            .limit(limit)
            .offset(offset)
        )
        count = sa.select(sa.func.count()).select_from(d).where(*where)
        async with self._read() as conn:
            rows = (await conn.execute(stmt)).all()
            total = (await conn.execute(count)).scalar_one()
        return [dead_letter_from_row(x) for x in rows], total

    async def dead_letter_get(self, dl_id: str) -> DeadLetter | None:
        d = t.dead_letters
        stmt = (
            sa.select(*d.c, t.jobs.c.name.label("job_name"))
            .join(t.jobs, t.jobs.c.id == d.c.job_id)
            .where(d.c.id == dl_id)
        )
        async with self._read() as conn:
            row = (await conn.execute(stmt)).first()
        return dead_letter_from_row(row) if row else None

    async def dead_letter_resolve(self, dl_id: str, *, now: datetime) -> None:
        d = t.dead_letters
        async with self._write(now) as (conn, events):
            res = await conn.execute(
                sa.update(d)
                .where(d.c.id == dl_id, d.c.resolved_at.is_(None))
                .values(resolved_at=now, resolution="resolved")
                .returning(d.c.run_id, d.c.job_id)
            )
            row = res.first()
            if row is None:
                raise Conflict(f"dead letter '{dl_id}' does not exist or is already resolved")
            events.add("dead_letter.resolved", job_id=row.job_id, run_id=row.run_id)
