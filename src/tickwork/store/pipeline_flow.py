"""A pipeline run's progress, written: start it, advance it as its task runs finish, end it.

``advance_pipeline_runs`` is called, in the same transaction, wherever a run reaches a final
state (worker reports, the PostgreSQL short report path falling to the general one, the
reaper's lost leases and missed start deadlines, single and bulk cancels): for the pipeline
runs those runs are tasks of, the pure ``domain.pipelines.advance`` says which tasks to queue
and skip and whether the run ends; this module only reads its inputs and writes what it
decided.

Locks (store/locking.py): a pipeline run's row is locked before any job or run of the
transaction, so the callers lock the pipeline runs of the runs they finish first
(``lock_pipeline_runs_of``); everything that changes a pipeline run's tasks holds its row.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from tickwork.domain import ids
from tickwork.domain.jobs import Dependency
from tickwork.domain.newruns import queued_run
from tickwork.domain.pipelines import (
    CANCELLED_REASON,
    Step,
    TaskNode,
    TaskState,
    advance,
    task_status_of_run,
)
from tickwork.domain.queries import NewRun
from tickwork.domain.runs import ACTIVE
from tickwork.store import tables as t
from tickwork.store.database import Outbox
from tickwork.store.dialect import one_of
from tickwork.store.locking import no_key_update
from tickwork.store.rows import job_ref

R = t.runs.c
P = t.pipeline_runs.c
J = t.jobs.c
JOB_REF = (J.id, J.name, J.route, J.priority, J.spec)


async def lock_pipeline_runs_of(
    conn: AsyncConnection, dialect: str, run_ids: Iterable[str]
) -> list[str]:
    """Lock the pipeline runs these runs are tasks of, by id (the lock order: before the
    jobs and runs a finish locks); their ids. A run's ``pipeline_run_id`` never changes."""
    ids_ = sorted(set(run_ids))
    if not ids_:
        return []
    owners = sa.select(R.pipeline_run_id).where(
        one_of(R.id, ids_, dialect), R.pipeline_run_id.isnot(None)
    )
    stmt = sa.select(P.id).where(P.id.in_(owners.scalar_subquery())).order_by(P.id)
    return list((await conn.execute(no_key_update(stmt, dialect))).scalars())


async def lock_pipeline_runs(
    conn: AsyncConnection, dialect: str, *where: sa.ColumnElement[bool]
) -> list[Any]:
    """Lock the pipeline runs matching ``where``, by id; their rows."""
    stmt = sa.select(t.pipeline_runs).where(*where).order_by(P.id)
    return list((await conn.execute(no_key_update(stmt, dialect))).all())


# --- the graph and the task states as stored ---------------------------------------------


def graph_of(tasks: Sequence[Mapping[str, Any]]) -> list[TaskNode]:
    """The task graph a pipeline run keeps (the one it started with)."""
    return [
        TaskNode(
            name=x["name"],
            depends_on=tuple(Dependency(e["job"], e["on"]) for e in x["depends_on"]),
            trigger_rule=x["trigger_rule"],
        )
        for x in tasks
    ]


def new_task_states(graph: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """A new pipeline run's tasks (``graph``: name, job_id, depends_on, trigger_rule), all
    pending."""
    return [
        {**x, "run_id": None, "state": "pending", "reason": None, "by_failure": False, "runs": []}
        for x in graph
    ]


async def task_runs(conn: AsyncConnection, pipeline_run_id: str) -> dict[str, Any]:
    """The runs of a pipeline run's tasks, by id."""
    stmt = sa.select(
        R.id,
        R.status,
        R.error,
        R.error_summary,
        R.attempt,
        R.queued_at,
        R.started_at,
        R.finished_at,
        R.duration,
    ).where(R.pipeline_run_id == pipeline_run_id)
    return {r.id: r for r in (await conn.execute(stmt)).all()}


def task_state(task: Mapping[str, Any], runs: Mapping[str, Any]) -> TaskState:
    """Where a task stands: its run's status, or pending / skipped as recorded (a task
    whose run no longer exists, removed with its job or by retention, counts as skipped)."""
    run_id = task.get("run_id")
    if run_id is None:
        return TaskState(task["state"], task.get("reason"), bool(task.get("by_failure")))
    run = runs.get(run_id)
    if run is None:
        return TaskState("skipped", "its run no longer exists", False)
    status = task_status_of_run(run.status)
    return TaskState(status, (run.error_summary or run.error) if status == "failed" else None)


# --- starting and advancing ---------------------------------------------------------------


async def advance_pipeline_runs(
    conn: AsyncConnection,
    dialect: str,
    events: Outbox,
    finished: Sequence[str],
    now: datetime,
) -> None:
    """After these runs reached a final state: advance the running pipeline runs they are
    tasks of (queue what their rules now allow, skip what can no longer run, end the run
    when nothing is left). The caller holds the pipeline runs' rows (the lock order)."""
    if not finished:
        return
    owners = sa.select(R.pipeline_run_id).where(
        one_of(R.id, sorted(set(finished)), dialect), R.pipeline_run_id.isnot(None)
    )
    rows = await lock_pipeline_runs(
        conn, dialect, P.id.in_(owners.scalar_subquery()), P.status == "running"
    )
    for row in rows:
        await step_pipeline_run(conn, dialect, events, row, now)


async def step_pipeline_run(
    conn: AsyncConnection, dialect: str, events: Outbox, row: Any, now: datetime
) -> Step:
    """Apply one ``advance`` to a running pipeline run (its row locked by the caller)."""
    tasks = [dict(x) for x in row.tasks]
    runs = await task_runs(conn, row.id)
    states = {x["name"]: task_state(x, runs) for x in tasks}
    step = advance(graph_of(tasks), states)
    by_name = {x["name"]: x for x in tasks}
    for name, state in step.skip.items():
        by_name[name].update(state="skipped", reason=state.reason, by_failure=state.by_failure)
    await _queue_tasks(conn, dialect, events, row, by_name, step.queue, now)
    values: dict[str, Any] = {"tasks": tasks}
    if step.status is not None:
        values.update(status=step.status, finished_at=now, error=step.error)
    await conn.execute(sa.update(t.pipeline_runs).where(P.id == row.id).values(**values))
    for name, state in step.skip.items():
        events.add(
            "pipeline_run.task_skipped",
            data={**_about(row), "task": name, "reason": state.reason},
        )
    if step.status is not None:
        _event(events, "pipeline_run.finished", row, step.status, error=step.error)
        await start_next(conn, dialect, events, row.pipeline_id, now)
    return step


async def _queue_tasks(
    conn: AsyncConnection,
    dialect: str,
    events: Outbox,
    row: Any,
    by_name: dict[str, dict[str, Any]],
    queue: Sequence[tuple[str, list[str]]],
    now: datetime,
) -> None:
    """New runs of these tasks, carrying the pipeline run's id and the upstream run ids."""
    if not queue:
        return
    from tickwork.store.run_writes import insert_runs  # run_writes calls this module

    job_ids = sorted({by_name[name]["job_id"] for name, _ in queue})
    jobs = {
        r.id: job_ref(r)
        for r in (await conn.execute(sa.select(*JOB_REF).where(one_of(J.id, job_ids, dialect))))
    }
    made = []
    for name, upstream in queue:
        task = by_name[name]
        job = jobs.get(task["job_id"])
        if job is None:  # removed from the pipeline meanwhile
            task.update(state="skipped", reason="task removed", by_failure=False)
            continue
        tries = len(task.get("runs") or []) + 1
        new = NewRun(
            job_id=job.id,
            trigger="pipeline",
            parameters=dict((row.parameters or {}).get(name) or {}),
            idempotency_key=f"{row.id}.{name}.{tries}",
            scheduled_for=row.scheduled_for,
            upstream_run_ids=tuple(
                by_name[u]["run_id"] for u in upstream if by_name[u].get("run_id")
            ),
            pipeline_run_id=row.id,
        )
        run = queued_run(job, new, run_id=ids.run_id(), now=now)
        made.append(run)
        task.update(
            run_id=run.id, state="run", reason=None, runs=[*(task.get("runs") or []), run.id]
        )
    await insert_runs(conn, dialect, events, made, {j: job.name for j, job in jobs.items()})


async def start_pipeline_run(
    conn: AsyncConnection, dialect: str, events: Outbox, row: Any, now: datetime
) -> Step:
    """Start a pipeline run (its row locked or new in this transaction): running, its
    first tasks queued."""
    await conn.execute(
        sa.update(t.pipeline_runs).where(P.id == row.id).values(status="running", started_at=now)
    )
    _event(events, "pipeline_run.started", row, "running")
    fresh = (await conn.execute(sa.select(t.pipeline_runs).where(P.id == row.id))).one()
    return await step_pipeline_run(conn, dialect, events, fresh, now)


async def start_next(
    conn: AsyncConnection, dialect: str, events: Outbox, pipeline_id: str, now: datetime
) -> None:
    """on_overlap=queue: when a pipeline's run ends, its oldest queued run starts."""
    waiting = await conn.execute(
        sa.select(P.id)
        .where(P.pipeline_id == pipeline_id, P.status == "queued")
        .order_by(P.queued_at, P.id)
        .limit(1)
    )
    first = waiting.scalar()
    if first is None:
        return
    active = await conn.execute(
        sa.select(P.id).where(P.pipeline_id == pipeline_id, P.status == "running").limit(1)
    )
    if active.first() is not None:
        return
    [row] = await lock_pipeline_runs(conn, dialect, P.id == first, P.status == "queued") or [None]
    if row is not None:
        await start_pipeline_run(conn, dialect, events, row, now)


# --- cancel and retry ---------------------------------------------------------------------


async def cancel_pipeline_run(
    conn: AsyncConnection, dialect: str, events: Outbox, row: Any, *, by: str, now: datetime
) -> list[tuple[str, str]]:
    """Cancel a queued or running pipeline run (its row locked): its queued task runs are
    cancelled, its running ones asked to stop, its pending tasks skipped ("pipeline
    cancelled"); (run id, worker) of the running ones, whose workers must be told."""
    from tickwork.store.run_writes import CANCELLED, STOPPED_RUN, stop_runs

    active = list(
        (
            await conn.execute(
                no_key_update(
                    sa.select(*STOPPED_RUN)
                    .where(R.pipeline_run_id == row.id, R.status.in_(ACTIVE))
                    .order_by(R.id),
                    dialect,
                )
            )
        ).all()
    )
    _, stopping = await stop_runs(conn, dialect, events, active, by=by, error=CANCELLED, now=now)
    tasks = [dict(x) for x in row.tasks]
    for x in tasks:
        if x.get("run_id") is None and x["state"] == "pending":
            x.update(state="skipped", reason=CANCELLED_REASON, by_failure=False)
    await conn.execute(
        sa.update(t.pipeline_runs)
        .where(P.id == row.id)
        .values(status="cancelled", finished_at=now, tasks=tasks, error=f"cancelled by {by}")
    )
    _event(events, "pipeline_run.finished", row, "cancelled", error=f"cancelled by {by}")
    if row.status == "running":
        await start_next(conn, dialect, events, row.pipeline_id, now)
    return stopping


async def retry_pipeline_run(
    conn: AsyncConnection, dialect: str, events: Outbox, row: Any, now: datetime
) -> Step:
    """Run a failed or cancelled pipeline run (its row locked) again from where it stopped:
    its failed, cancelled and skipped tasks are pending again (their earlier runs kept in
    their history), its completed ones kept; then it steps as a started run does."""
    runs = await task_runs(conn, row.id)
    tasks = [dict(x) for x in row.tasks]
    for x in tasks:
        if task_state(x, runs).status in ("failed", "cancelled", "skipped"):
            x.update(run_id=None, state="pending", reason=None, by_failure=False)
    await conn.execute(
        sa.update(t.pipeline_runs)
        .where(P.id == row.id)
        .values(
            status="running",
            started_at=row.started_at or now,
            finished_at=None,
            error=None,
            tasks=tasks,
        )
    )
    _event(events, "pipeline_run.started", row, "running", retried=True)
    fresh = (await conn.execute(sa.select(t.pipeline_runs).where(P.id == row.id))).one()
    return await step_pipeline_run(conn, dialect, events, fresh, now)


# --- events ---------------------------------------------------------------------------------


def _about(row: Any) -> dict[str, Any]:
    return {
        "pipeline_run_id": row.id,
        "pipeline_id": row.pipeline_id,
        "namespace": row.namespace,
    }


def _event(events: Outbox, kind: str, row: Any, status: str, **extra: Any) -> None:
    events.add(kind, data={**_about(row), "status": status, **extra})


def queued_event(events: Outbox, row: Mapping[str, Any]) -> None:
    events.add(
        "pipeline_run.queued",
        data={
            "pipeline_run_id": row["id"],
            "pipeline_id": row["pipeline_id"],
            "namespace": row["namespace"],
            "status": "queued",
            "trigger": row["trigger"],
        },
    )
