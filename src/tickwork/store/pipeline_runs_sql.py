"""Pipeline runs: trigger (under the pipeline's on_overlap), read, list, cancel and retry;
the scheduler's pass over due pipelines. How a run moves on as its tasks finish is
store/pipeline_flow.py's."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from tickwork.domain import ids
from tickwork.domain.calendars import CalendarSpec
from tickwork.domain.errors import Conflict, NotFound
from tickwork.domain.jobs import Dependency
from tickwork.domain.overlap import Skip, Supersede, decide_overlap
from tickwork.domain.pipelines import (
    PIPELINE_ACTIVE,
    Pipeline,
    PipelineRun,
    PipelineTriggered,
    TaskRun,
    job_name,
)
from tickwork.domain.queries import Total
from tickwork.domain.scheduling import TickPlan
from tickwork.store import tables as t
from tickwork.store.calendars_sql import calendars_of
from tickwork.store.counting import count_matching
from tickwork.store.database import Database, Outbox
from tickwork.store.dialect import one_of
from tickwork.store.jobs_sql import decode_cursor, encode_cursor
from tickwork.store.locking import no_key_update
from tickwork.store.pipeline_flow import (
    cancel_pipeline_run,
    lock_pipeline_runs,
    new_task_states,
    queued_event,
    retry_pipeline_run,
    start_pipeline_run,
    task_state,
)
from tickwork.store.pipelines_sql import pipeline_from
from tickwork.store.quotas_sql import check_new_runs

PL = t.pipelines.c
P = t.pipeline_runs.c
J = t.jobs.c
R = t.runs.c


def _run_from(
    row: Any, name: str, runs: Mapping[str, Any], job_names: Mapping[str, str]
) -> PipelineRun:
    tasks = []
    for x in row.tasks:
        state = task_state(x, runs)
        run = runs.get(x.get("run_id") or "")
        tasks.append(
            TaskRun(
                name=x["name"],
                job_id=x["job_id"],
                job_name=job_names.get(x["job_id"], job_name(name, x["name"])),
                depends_on=tuple(Dependency(e["job"], e["on"]) for e in x["depends_on"]),
                trigger_rule=x["trigger_rule"],
                status=state.status,
                reason=state.reason,
                run_id=x.get("run_id"),
                attempt=run.attempt if run is not None else None,
                queued_at=run.queued_at if run is not None else None,
                started_at=run.started_at if run is not None else None,
                finished_at=run.finished_at if run is not None else None,
                duration=run.duration if run is not None else None,
                runs=tuple(x.get("runs") or ()),
            )
        )
    return PipelineRun(
        id=row.id,
        pipeline_id=row.pipeline_id,
        pipeline_name=name,
        namespace=row.namespace,
        status=row.status,
        trigger=row.trigger,
        scheduled_for=row.scheduled_for,
        queued_at=row.queued_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
        error=row.error,
        tasks=tuple(tasks),
    )


async def _runs_from(conn: AsyncConnection, dialect: str, rows: Sequence[Any]) -> list[PipelineRun]:
    """Pipeline runs with their tasks' runs (two statements for the lot)."""
    if not rows:
        return []
    prun_ids = [r.id for r in rows]
    found = await conn.execute(
        sa.select(
            R.id,
            R.pipeline_run_id,
            R.status,
            R.error,
            R.error_summary,
            R.attempt,
            R.queued_at,
            R.started_at,
            R.finished_at,
            R.duration,
        ).where(one_of(R.pipeline_run_id, prun_ids, dialect))
    )
    runs = {r.id: r for r in found.all()}
    pids = sorted({r.pipeline_id for r in rows})
    names = dict(
        (await conn.execute(sa.select(PL.id, PL.name).where(one_of(PL.id, pids, dialect)))).all()
    )
    job_ids = sorted({x["job_id"] for r in rows for x in r.tasks})
    job_names = dict(
        (await conn.execute(sa.select(J.id, J.name).where(one_of(J.id, job_ids, dialect)))).all()
    )
    return [_run_from(r, names.get(r.pipeline_id, ""), runs, job_names) for r in rows]


class PipelineRunRows:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def run(self, run_id: str) -> PipelineRun | None:
        async with self.db.read() as conn:
            row = (await conn.execute(sa.select(t.pipeline_runs).where(P.id == run_id))).first()
            if row is None:
                return None
            return (await _runs_from(conn, self.db.dialect, [row]))[0]

    async def runs_page(
        self, pipeline_id: str, *, status: str | None, limit: int, cursor: str | None
    ) -> tuple[list[PipelineRun], Total, str | None]:
        """A pipeline's runs, newest first."""
        where = [P.pipeline_id == pipeline_id]
        if status:
            where.append(P.status == status)
        stmt = (
            sa.select(t.pipeline_runs)
            .where(*where)
            .order_by(P.queued_at.desc(), P.id.desc())
            .limit(limit + 1)
        )
        if cursor:
            at, last = decode_cursor(cursor, 2)
            when = datetime.fromisoformat(at)
            stmt = stmt.where(sa.or_(P.queued_at < when, sa.and_(P.queued_at == when, P.id < last)))
        async with self.db.read() as conn:
            rows = (await conn.execute(stmt)).all()
            total = await count_matching(conn, t.pipeline_runs, where)
            out = await _runs_from(conn, self.db.dialect, rows[:limit])
        nxt = None
        if len(rows) > limit:
            nxt = encode_cursor(out[-1].queued_at.isoformat(), out[-1].id)
        return out, total, nxt

    async def last_runs(self, pipeline_ids: Sequence[str]) -> dict[str, PipelineRun]:
        """Each pipeline's newest run."""
        if not pipeline_ids:
            return {}
        ranked = (
            sa.select(
                P.id,
                sa.func.row_number()
                .over(partition_by=P.pipeline_id, order_by=(P.queued_at.desc(), P.id.desc()))
                .label("n"),
            )
            .where(one_of(P.pipeline_id, list(pipeline_ids), self.db.dialect))
            .subquery()
        )
        stmt = sa.select(t.pipeline_runs).where(
            P.id.in_(sa.select(ranked.c.id).where(ranked.c.n == 1))
        )
        async with self.db.read() as conn:
            rows = (await conn.execute(stmt)).all()
            runs = await _runs_from(conn, self.db.dialect, rows)
        return {r.pipeline_id: r for r in runs}

    # --- runs ---------------------------------------------------------------------------------

    async def trigger(
        self,
        pipeline_id: str,
        *,
        trigger: str,
        parameters: Mapping[str, Any],
        idempotency_key: str | None,
        now: datetime,
    ) -> PipelineTriggered:
        """A new pipeline run honouring the idempotency key and the pipeline's on_overlap
        (skip: the active run is returned; queue: the new one waits for it; allow: runs
        alongside; cancel_previous: the active ones are cancelled first)."""
        async with self.db.write(now) as (conn, events):
            pipe = (
                await conn.execute(
                    no_key_update(
                        sa.select(t.pipelines).where(PL.id == pipeline_id), self.db.dialect
                    )
                )
            ).first()
            if pipe is None:
                raise NotFound(f"no pipeline '{pipeline_id}'")
            if idempotency_key:
                found = (
                    await conn.execute(
                        sa.select(t.pipeline_runs).where(
                            P.pipeline_id == pipeline_id, P.idempotency_key == idempotency_key
                        )
                    )
                ).first()
                if found is not None:
                    [run] = await _runs_from(conn, self.db.dialect, [found])
                    return PipelineTriggered(run, False)
            made, created, stopping = await self._new_run(
                conn,
                events,
                pipe,
                trigger=trigger,
                parameters=parameters,
                key=idempotency_key,
                scheduled_for=None,
                now=now,
            )
            assert made is not None  # only a schedule tick makes nothing
            row = (await conn.execute(sa.select(t.pipeline_runs).where(P.id == made))).one()
            [run] = await _runs_from(conn, self.db.dialect, [row])
        return PipelineTriggered(run, created, stopping)

    async def _new_run(
        self,
        conn: AsyncConnection,
        events: Outbox,
        pipe: Any,
        *,
        trigger: str,
        parameters: Mapping[str, Any],
        key: str | None,
        scheduled_for: datetime | None,
        now: datetime,
    ) -> tuple[str | None, bool, list[tuple[str, str]]]:
        """Make one run of a pipeline (its row locked): (the new run's id, or the active
        run's where on_overlap=skip keeps it, or None for a tick skipped or made already;
        whether it is new; (run id, worker) of the task runs to stop)."""
        on_overlap = pipe.spec.get("on_overlap", "skip")
        active = (
            await conn.execute(
                sa.select(P.id)
                .where(P.pipeline_id == pipe.id, P.status.in_(PIPELINE_ACTIVE))
                .order_by(P.queued_at, P.id)
                .limit(1)
            )
        ).scalar()
        decision = decide_overlap(on_overlap, active)
        if isinstance(decision, Skip):
            if trigger == "schedule":
                events.add(
                    "pipeline_run.skipped",
                    data={
                        "pipeline_id": pipe.id,
                        "namespace": pipe.namespace,
                        "scheduled_for": scheduled_for.isoformat() if scheduled_for else None,
                        "reason": "previous pipeline run still active (on_overlap=skip)",
                        "active_run": decision.active,
                    },
                )
                return None, False, []
            return decision.active, False, []
        if trigger == "schedule":
            taken = await conn.execute(
                sa.select(P.id).where(
                    P.pipeline_id == pipe.id,
                    P.trigger == "schedule",
                    P.scheduled_for == scheduled_for,
                )
            )
            if taken.first() is not None:
                return None, False, []
        graph = await self._graph(conn, pipe)
        # the quota rows before any run is locked (the lock order)
        await check_new_runs(
            conn,
            self.db.dialect,
            {pipe.namespace: sum(1 for x in graph if not x["depends_on"])},
            now=now,
        )
        stopping: list[tuple[str, str]] = []
        if isinstance(decision, Supersede):
            for row in await lock_pipeline_runs(
                conn, self.db.dialect, P.pipeline_id == pipe.id, P.status.in_(PIPELINE_ACTIVE)
            ):
                stopping += await cancel_pipeline_run(
                    conn, self.db.dialect, events, row, by="cancel_previous", now=now
                )
        run_id = ids.pipeline_run_id()
        values = {
            "id": run_id,
            "pipeline_id": pipe.id,
            "namespace": pipe.namespace,
            "status": "queued",
            "trigger": trigger,
            "scheduled_for": scheduled_for,
            "idempotency_key": key or run_id,
            "parameters": dict(parameters),
            "tasks": new_task_states(graph),
            "queued_at": now,
        }
        await conn.execute(sa.insert(t.pipeline_runs).values(**values))
        queued_event(events, values)
        waits = on_overlap == "queue" and active is not None
        if not waits:
            row = (await conn.execute(sa.select(t.pipeline_runs).where(P.id == run_id))).one()
            await start_pipeline_run(conn, self.db.dialect, events, row, now)
        return run_id, True, stopping

    async def _graph(self, conn: AsyncConnection, pipe: Any) -> list[dict[str, Any]]:
        """The task graph a new run starts with: each task's node and job id."""
        jobs = dict(
            (await conn.execute(sa.select(J.name, J.id).where(J.pipeline_id == pipe.id))).all()
        )
        return [
            {**x, "job_id": jobs[job_name(pipe.name, x["name"])]}
            for x in pipe.spec["tasks"]
            if job_name(pipe.name, x["name"]) in jobs
        ]

    async def cancel(self, run_id: str, *, by: str, now: datetime) -> list[tuple[str, str]]:
        """Cancel a queued or running pipeline run (409 once it ended); (run id, worker) of
        the task runs whose workers must be told to stop."""
        async with self.db.write(now) as (conn, events):
            row = await self._locked_run(conn, run_id)
            if row.status not in PIPELINE_ACTIVE:
                raise Conflict(
                    f"pipeline run '{run_id}' is {row.status}; only a queued or running "
                    "pipeline run can be cancelled"
                )
            return await cancel_pipeline_run(conn, self.db.dialect, events, row, by=by, now=now)

    async def retry(self, run_id: str, *, now: datetime) -> None:
        """Run a failed or cancelled pipeline run again from its failed, cancelled and
        skipped tasks (409 otherwise)."""
        async with self.db.write(now) as (conn, events):
            row = await self._locked_run(conn, run_id)
            if row.status not in ("failed", "cancelled"):
                raise Conflict(
                    f"pipeline run '{run_id}' is {row.status}; only a failed or cancelled "
                    "pipeline run can be retried"
                )
            await retry_pipeline_run(conn, self.db.dialect, events, row, now)

    async def _locked_run(self, conn: AsyncConnection, run_id: str) -> Any:
        [row] = await lock_pipeline_runs(conn, self.db.dialect, P.id == run_id) or [None]
        if row is None:
            raise NotFound(f"no pipeline run '{run_id}'")
        return row


# (the pipeline, its calendar) → (plan, next due time); pure domain code, from the service
PipelinePlanner = Callable[[Pipeline, CalendarSpec | None], tuple[TickPlan, datetime | None]]


class PipelineSchedule:
    """The scheduler's pass over due pipelines: each due tick one pipeline run, under the
    pipeline's on_overlap and catch-up policy and its calendar."""

    def __init__(self, rows: PipelineRunRows) -> None:
        self.rows = rows
        self.db = rows.db

    async def fire(
        self, *, now: datetime, limit: int, planner: PipelinePlanner
    ) -> tuple[int, int, int, list[tuple[str, str]]]:
        """(pipelines due, pipeline runs made, ticks skipped, task runs to stop)."""
        made = skipped = 0
        stopping: list[tuple[str, str]] = []
        async with self.db.write(now) as (conn, events):
            due = (
                await conn.execute(
                    no_key_update(
                        sa.select(t.pipelines)
                        .where(PL.enabled, PL.next_run <= now)
                        .order_by(PL.next_run)
                        .limit(limit),
                        self.db.dialect,
                        skip_locked=True,
                    )
                )
            ).all()
            calendars = await calendars_of(
                conn, ((row.namespace, row.calendar) for row in due if row.calendar)
            )
            for row in due:
                calendar = calendars.get((row.namespace, row.calendar)) if row.calendar else None
                plan, next_due = planner(pipeline_from(row, {}), calendar)
                skipped += _record_skips(events, row, plan)
                for tick in plan.fire:
                    _, created, stops = await self.rows._new_run(
                        conn,
                        events,
                        row,
                        trigger="schedule",
                        parameters={},
                        key=f"tick-{tick.strftime('%Y%m%dT%H%M%S.%fZ')}",
                        scheduled_for=tick,
                        now=now,
                    )
                    made += int(created)
                    stopping += stops
                await conn.execute(
                    sa.update(t.pipelines).where(PL.id == row.id).values(next_run=next_due)
                )
        return len(due), made, skipped, stopping

    async def next_due(self) -> datetime | None:
        """When the next enabled pipeline is due (ix_pipelines_due)."""
        async with self.db.read() as conn:
            value: datetime | None = (
                await conn.execute(sa.select(sa.func.min(PL.next_run)).where(PL.enabled))
            ).scalar_one()
        return value


def _record_skips(events: Outbox, row: Any, plan: TickPlan) -> int:
    for tick, reason in plan.skipped:
        events.add(
            "pipeline_run.skipped",
            data={
                "pipeline_id": row.id,
                "namespace": row.namespace,
                "scheduled_for": tick.isoformat(),
                "reason": reason,
            },
        )
    return plan.skipped_total
