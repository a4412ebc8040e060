"""The scheduler's writes: due jobs become runs, in batches, one transaction per pass."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from tickwork.domain import ids
from tickwork.domain.calendars import CalendarSpec
from tickwork.domain.jobs import Job
from tickwork.domain.newruns import JobRef, QueuedRun, queued_run
from tickwork.domain.overlap import Skip, Supersede, decide_overlap, needs_active
from tickwork.domain.queries import NewRun
from tickwork.domain.records import TickResult
from tickwork.domain.scheduling import TickPlan
from tickwork.store import tables as t
from tickwork.store.calendars_sql import calendars_of
from tickwork.store.database import Database, Outbox
from tickwork.store.dialect import limit_idle_transaction, update_many
from tickwork.store.locking import no_key_update
from tickwork.store.rows import job_from_row, job_ref
from tickwork.store.run_writes import active_runs, insert_runs, supersede

J = t.jobs.c

# (job, its calendar) → (plan, next due time) for one due job; the planner is pure domain code.
Planner = Callable[[Job, CalendarSpec | None], tuple[TickPlan, datetime | None]]


class ScheduleRows:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def fire(
        self, *, now: datetime, limit: int, planner: Planner, idle_limit: float | None = None
    ) -> TickResult:
        """Turn due jobs into runs: one transaction, a few statements for the whole batch.

        ``idle_limit`` (the leader lease): the database aborts the transaction if the
        scheduler leaves it idle that long, so a leader cut off mid-pass neither keeps the due
        jobs locked from its successor nor commits a stale pass when the network heals.
        """
        async with self.db.write(now) as (conn, events):
            if idle_limit is not None:
                await limit_idle_transaction(conn, idle_limit)
            due = (
                await conn.execute(
                    no_key_update(  # jobs first (the lock order); one tick per job at a time
                        due_jobs(now, limit),
                        self.db.dialect,
                        skip_locked=True,
                    )
                )
            ).all()
            if not due:
                return TickResult(0, 0, 0, [])
            refs = {row.id: job_ref(row) for row in due}
            looking = [j for j, ref in refs.items() if needs_active(ref.on_overlap)]
            active = await active_runs(conn, self.db.dialect, looking)
            ticks: list[tuple[QueuedRun, datetime]] = []
            skipped = 0
            advance: list[dict[str, Any]] = []
            superseding: list[str] = []
            calendars = await calendars_of(
                conn, ((row.namespace, row.calendar) for row in due if row.calendar)
            )
            for row in due:
                calendar = calendars.get((row.namespace, row.calendar)) if row.calendar else None
                plan, next_due = planner(job_from_row(row), calendar)
                skipped += _record_skips(events, row.id, plan)
                fired, supersedes = _tick_runs(events, refs[row.id], plan, active, now)
                if supersedes:
                    superseding.append(row.id)
                ticks += fired
                advance.append({"id": row.id, "next_run": next_due})
            # before the new runs exist; all the jobs' runs in one statement, by id
            stopping = await supersede(conn, self.db.dialect, events, superseding, now)
            created = await insert_runs(
                conn, self.db.dialect, events, [r for r, _ in ticks], {r.id: r.name for r in due}
            )
            # the due jobs are locked (SQLite: the write transaction is), so each moves
            # from the next_run just read: one statement for the batch
            await update_many(
                conn,
                t.jobs,
                keys=["id"],
                values=["next_run"],
                rows=advance,
                dialect_name=self.db.dialect,
            )
        lags = [
            (now - due_at).total_seconds()
            for (_, due_at), (_, made) in zip(ticks, created, strict=True)
            if made
        ]
        return TickResult(len(due), len(lags), skipped, lags, stopping)

    async def next_due(self) -> datetime | None:
        """When the next enabled job is due (the partial index ix_jobs_due answers it)."""
        async with self.db.read() as conn:
            value: datetime | None = (
                await conn.execute(sa.select(sa.func.min(J.next_run)).where(ENABLED))
            ).scalar_one()
        return value


ENABLED: sa.ColumnElement[bool] = J.enabled
"""The predicate of the partial index ix_jobs_due, as PostgreSQL must see it to use the index:
the bare column (``enabled IS true`` is not proven to match it, and a million jobs are then
read on every scheduler pass)."""


def due_jobs(now: datetime, limit: int) -> sa.Select[Any]:
    """The enabled jobs due by ``now``, soonest first (ix_jobs_due)."""
    return sa.select(t.jobs).where(ENABLED, J.next_run <= now).order_by(J.next_run).limit(limit)


def _tick_runs(
    events: Outbox, job: JobRef, plan: TickPlan, active: dict[str, str], now: datetime
) -> tuple[list[tuple[QueuedRun, datetime]], bool]:
    """The new runs of one due job's ticks, each with its fire time (nominal tick + the job's
    jitter offset), and whether they supersede the job's active runs (cancel_previous)."""
    out: list[tuple[QueuedRun, datetime]] = []
    supersedes = False
    for tick in plan.fire:
        decision = decide_overlap(job.on_overlap, active.get(job.id))
        if isinstance(decision, Skip):
            events.add(
                "run.skipped",
                job_id=job.id,
                data={
                    "scheduled_for": tick.isoformat(),
                    "reason": decision.reason,
                    "active_run": decision.active,
                },
            )
            continue
        supersedes = supersedes or isinstance(decision, Supersede)
        new = NewRun(
            job_id=job.id,
            trigger="schedule",
            scheduled_for=tick,
            idempotency_key=f"tick-{tick.strftime('%Y%m%dT%H%M%S.%fZ')}",
            due_at=plan.fire_at(tick),
        )
        run = queued_run(job, new, run_id=ids.run_id(), now=now)
        out.append((run, plan.fire_at(tick)))
        active[job.id] = run.id
    return out, supersedes


def _record_skips(events: Outbox, job_id: str, plan: TickPlan) -> int:
    for tick, reason in plan.skipped:
        events.add(
            "run.skipped", job_id=job_id, data={"scheduled_for": tick.isoformat(), "reason": reason}
        )
    hidden = plan.skipped_total - len(plan.skipped)
    if hidden > 0:
        events.add(
            "run.skipped",
            job_id=job_id,
            data={"count": hidden, "reason": f"{hidden} earlier ticks also skipped"},
        )
    return plan.skipped_total
