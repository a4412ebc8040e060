"""The scheduler's writes: due jobs become runs, in batches, one transaction per pass."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from tickwork.domain import ids
from tickwork.domain.calendars import CalendarSpec
from tickwork.domain.jobs import Job
from tickwork.domain.newruns import JobRef, QueuedRun, queued_run, written_ahead
from tickwork.domain.overlap import (
    SKIP_REASON,
    Skip,
    Supersede,
    decide_overlap,
    needs_active,
)
from tickwork.domain.queries import NewRun
from tickwork.domain.records import TickResult
from tickwork.domain.runs import ACTIVE
from tickwork.domain.scheduling import TickPlan
from tickwork.store import tables as t
from tickwork.store.calendars_sql import calendars_of
from tickwork.store.database import Database, Outbox
from tickwork.store.dialect import limit_idle_transaction, one_of, update_many
from tickwork.store.locking import lock_jobs, lock_runs, no_key_update
from tickwork.store.rows import job_from_row, job_ref
from tickwork.store.run_writes import (
    EARLIER,
    STOPPED_RUN,
    TICK_DECIDED,
    active_runs,
    insert_runs,
    not_waiting,
    stop_runs,
    supersede,
)

J = t.jobs.c
R = t.runs.c

# (job, its calendar) → (plan, next due time) for one due job; the planner is pure domain code.
Planner = Callable[[Job, CalendarSpec | None], tuple[TickPlan, datetime | None]]


class ScheduleRows:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def fire(
        self,
        *,
        now: datetime,
        limit: int,
        planner: Planner,
        idle_limit: float | None = None,
        ahead: float = 0.0,
    ) -> TickResult:
        """Turn due jobs into runs: one transaction, a few statements for the whole batch.

        ``ahead`` seconds (``schedule_ahead``): the jobs due within them are taken too, and
        the runs of ticks whose fire time has not come are written ahead of it, claimable
        from it (``not_before``); the planner must plan as far (Scheduler.planner).

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
                        due_jobs(now + timedelta(seconds=ahead), limit),
                        self.db.dialect,
                        skip_locked=True,
                    )
                )
            ).all()
            if not due:
                return TickResult(0, 0, 0, [])
            refs = {row.id: job_ref(row) for row in due}
            calendars = await calendars_of(
                conn, ((row.namespace, row.calendar) for row in due if row.calendar)
            )
            plans = [
                (row, *planner(job_from_row(row), calendars.get((row.namespace, row.calendar))))
                for row in due
            ]
            # only a tick whose time has come is decided now (one written ahead: at its tick)
            looking = [
                row.id
                for row, plan, _ in plans
                if needs_active(refs[row.id].on_overlap)
                and any(plan.fire_at(tick) <= now for tick in plan.fire)
            ]
            active = await active_runs(conn, self.db.dialect, looking, now)
            ticks: list[tuple[QueuedRun, datetime]] = []
            skipped = 0
            advance: list[dict[str, Any]] = []
            superseding: list[str] = []
            for row, plan, next_due in plans:
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
        made = [due_at for (_, due_at), (_, new) in zip(ticks, created, strict=True) if new]
        lags = [(now - due_at).total_seconds() for due_at in made if due_at <= now]
        early = [due_at for due_at in made if due_at > now]
        return TickResult(len(due), len(made), skipped, lags, stopping, early)

    async def at_tick(
        self, *, now: datetime, since: datetime | None, idle_limit: float | None = None
    ) -> tuple[int, list[tuple[str, str]]]:
        """The overlap decision of the runs written ahead whose fire time came in
        (``since``, ``now``] (all that came due if ``since`` is None), as domain/overlap.py
        ``at_tick`` rules, set-based: a ``skip`` run with an earlier active run of its job is
        removed (a ``run.skipped`` event: it never ran, no worker saw it, a claim passes it
        over); a ``cancel_previous`` run stops its job's earlier active runs (the latest of
        its job's due ones stays). (runs skipped, (run id, worker id) of the running runs
        asked to stop.) Runs that came due but won need no write."""
        window: list[sa.ColumnElement[bool]] = [
            R.ahead.in_(TICK_DECIDED),
            R.status == "queued",
            R.not_before <= now,
        ]
        if since is not None:
            window.append(R.not_before > since)
        async with self.db.write(now) as (conn, events):
            if idle_limit is not None:
                await limit_idle_transaction(conn, idle_limit)
            lost = (
                await conn.execute(
                    sa.delete(t.runs)
                    .where(R.id.in_(sa.select(R.id).where(*window, R.ahead == "skip", EARLIER)))
                    .returning(R.id, R.job_id, R.scheduled_for)
                )
            ).all()
            if lost:
                kept = await active_runs(
                    conn, self.db.dialect, sorted({r.job_id for r in lost}), now
                )
                for r in lost:
                    events.add(
                        "run.skipped",
                        job_id=r.job_id,
                        run_id=r.id,
                        data={
                            "scheduled_for": r.scheduled_for.isoformat()
                            if r.scheduled_for
                            else None,
                            "reason": SKIP_REASON,
                            "active_run": kept.get(r.job_id),
                        },
                    )
            stopping = await self._supersede_at_tick(conn, events, window, now)
        return len(lost), stopping

    async def _supersede_at_tick(
        self,
        conn: Any,
        events: Outbox,
        window: list[sa.ColumnElement[bool]],
        now: datetime,
    ) -> list[tuple[str, str]]:
        """cancel_previous runs that came due: their jobs locked (the lock order), then every
        active run of each job but its latest due one is stopped, as a trigger's would be."""
        dialect = self.db.dialect
        due = (
            await conn.execute(
                sa.select(R.id, R.job_id)
                .where(*window, R.ahead == "cancel_previous")
                .order_by(R.not_before, R.id)
            )
        ).all()
        if not due:
            return []
        latest = {r.job_id: r.id for r in due}  # ordered: the last one of each job stays
        await lock_jobs(conn, dialect, latest, columns=(J.id,))
        older = await lock_runs(
            conn,
            dialect,
            one_of(R.job_id, sorted(latest), dialect),
            R.status.in_(ACTIVE),
            not_waiting(now),
            R.pipeline_run_id.is_(None),
            R.id.not_in(sorted(latest.values())),
            columns=STOPPED_RUN,
        )
        _, stopping = await stop_runs(
            conn,
            dialect,
            events,
            older,
            by="cancel_previous",
            error="cancelled: superseded",
            now=now,
        )
        return stopping

    async def next_at_tick(self, since: datetime | None) -> datetime | None:
        """When the next run written ahead awaits its overlap decision (ix_runs_ahead_pending):
        the soonest after ``since``, or the soonest of all."""
        where = [R.ahead.in_(TICK_DECIDED), R.status == "queued"]
        if since is not None:
            where.append(R.not_before > since)
        async with self.db.read() as conn:
            value: datetime | None = (
                await conn.execute(sa.select(sa.func.min(R.not_before)).where(*where))
            ).scalar_one()
        return value

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
    jitter offset), and whether they supersede the job's active runs (cancel_previous).
    A tick whose fire time is still to come gets a run written ahead: its overlap is
    decided at that time (``at_tick``), not now."""
    out: list[tuple[QueuedRun, datetime]] = []
    supersedes = False
    for tick in plan.fire:
        at = plan.fire_at(tick)
        if at > now:
            new = NewRun(
                job_id=job.id,
                trigger="schedule",
                scheduled_for=tick,
                idempotency_key=f"tick-{tick.strftime('%Y%m%dT%H%M%S.%fZ')}",
                due_at=at,
            )
            run = queued_run(job, new, run_id=ids.run_id(), now=now)
            out.append((written_ahead(run, at, job.on_overlap), at))
            continue
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
