"""Pipeline runs in the store, on SQLite and PostgreSQL: a run advances from every path where
a task run ends (reports of success and failure, the PostgreSQL short report path, cancels,
bulk cancels, lease expiry, missed start deadlines), skips with reasons, a retry from the
failed tasks, on_overlap and the scheduler's ticks."""

from __future__ import annotations

import asyncio
import itertools
from datetime import datetime, timedelta
from typing import Any

import pytest

from tickwork.domain.calendars import CalendarSpec
from tickwork.domain.clock import FakeClock
from tickwork.domain.errors import Conflict
from tickwork.domain.jobs import Dependency, Job
from tickwork.domain.pipelines import (
    Pipeline,
    PipelineRun,
    PipelineSpec,
    TaskNode,
    TaskSpec,
    first_run,
)
from tickwork.domain.queries import RunSelection
from tickwork.domain.runs import Completion
from tickwork.domain.scheduling import TickPlan, plan_ticks
from tickwork.store.sql import SqlStore
from tickwork.testing import job_spec

from .helpers import add_worker, claim, complete, start

WORKERS = itertools.count()
Task = tuple[str, list[Any], dict[str, Any]]
ETL: list[Task] = [
    ("extract", [], {}),
    ("load", ["extract"], {}),
    ("notify", [Dependency("extract", "failure")], {}),
]


async def add_pipeline(
    store: SqlStore, clock: FakeClock, tasks: list[Task] = ETL, name: str = "etl", **fields: Any
) -> Pipeline:
    now = clock.now()
    spec = PipelineSpec(
        name=name,
        tasks=tuple(
            TaskSpec(
                TaskNode(t, tuple(d if isinstance(d, Dependency) else Dependency(d) for d in deps)),
                job_spec(f"{name}.{t}", **{"retries": 0, **extra}),
            )
            for t, deps, extra in tasks
        ),
        **fields,
    )
    pipeline = Pipeline(
        id=f"pipe-{name}",
        spec=spec,
        created_at=now,
        updated_at=now,
        next_run=first_run(spec, now=now),
    )
    jobs = [
        Job(
            id=f"job-{name}-{t.name}",
            spec=t.job,
            created_at=now,
            updated_at=now,
            pipeline_id=pipeline.id,
        )
        for t in spec.tasks
    ]
    await store.pipelines.insert(pipeline, jobs, now=now)
    found = await store.pipelines.get(pipeline.id, namespace="default")
    assert found is not None
    return found


async def trigger(store: SqlStore, clock: FakeClock, pipeline: Pipeline, **how: Any) -> PipelineRun:
    done = await store.pipeline_runs.trigger(
        pipeline.id,
        trigger="manual",
        parameters=how.get("parameters", {}),
        idempotency_key=how.get("key"),
        now=clock.now(),
    )
    return done.run


async def tasks_of(store: SqlStore, run_id: str) -> dict[str, tuple[str, str | None]]:
    run = await store.pipeline_runs.run(run_id)
    assert run is not None
    return {t.name: (t.status, t.reason) for t in run.tasks}


async def status_of(store: SqlStore, run_id: str) -> str:
    run = await store.pipeline_runs.run(run_id)
    assert run is not None
    return run.status


async def end_all(store: SqlStore, clock: FakeClock, outcomes: dict[str, str]) -> list[str]:
    """Claim every queued run and report each as ``outcomes`` says by job (else completed):
    starts and ends in one report (the short path on PostgreSQL when all complete)."""
    wid = await add_worker(store, clock, f"worker-{next(WORKERS)}")
    got = await claim(store, clock, wid, limit=50)
    names = []
    items = []
    for a in got:
        run = await store.runs.get(a.run_id)
        assert run is not None
        names.append(run.job_name.split(".")[1])
        outcome = outcomes.get(names[-1], "completed")
        error = None if outcome == "completed" else "boom"
        items.append(Completion(a.run_id, a.fence, outcome, error=error))
    await store.reports.apply(
        wid, starts=[(a.run_id, a.fence) for a in got], completions=items, limit=0, now=clock.now()
    )
    return sorted(names)


async def test_success_runs_the_graph_to_completion(store: SqlStore, clock: FakeClock) -> None:
    pipeline = await add_pipeline(store, clock)
    run = await trigger(store, clock, pipeline)
    assert run.status == "running"
    assert await end_all(store, clock, {}) == ["extract"]
    states = await tasks_of(store, run.id)
    assert states["load"] == ("queued", None)
    assert states["notify"] == ("skipped", "upstream succeeded: extract")
    assert await end_all(store, clock, {}) == ["load"]
    assert await status_of(store, run.id) == "completed"
    [extract, load] = [t for t in (await store.pipeline_runs.run(run.id)).tasks if t.run_id]
    load_run = await store.runs.get(load.run_id or "")
    assert load_run is not None
    assert load_run.pipeline_run_id == run.id
    assert load_run.upstream_run_ids == (extract.run_id,)
    assert load_run.trigger == "pipeline"


async def test_failure_skips_with_reasons_and_queues_the_handler(
    store: SqlStore, clock: FakeClock
) -> None:
    pipeline = await add_pipeline(store, clock)
    run = await trigger(store, clock, pipeline)
    assert await end_all(store, clock, {"extract": "failed"}) == ["extract"]
    states = await tasks_of(store, run.id)
    assert states["load"] == ("skipped", "upstream failed: extract")
    assert states["notify"] == ("queued", None)
    assert states["extract"] == ("failed", "boom")
    assert await end_all(store, clock, {}) == ["notify"]
    ended = await store.pipeline_runs.run(run.id)
    assert ended is not None
    assert (ended.status, ended.error) == ("failed", "failed: extract")
    assert ended.finished_at == clock.now()


async def test_retry_runs_the_failed_tasks_again(store: SqlStore, clock: FakeClock) -> None:
    pipeline = await add_pipeline(store, clock)
    run = await trigger(store, clock, pipeline)
    await end_all(store, clock, {"extract": "failed"})
    await end_all(store, clock, {})
    await store.pipeline_runs.retry(run.id, now=clock.now())
    states = await tasks_of(store, run.id)
    assert states == {
        "extract": ("queued", None),
        "load": ("pending", None),
        "notify": ("completed", None),
    }
    assert await end_all(store, clock, {}) == ["extract"]
    assert await end_all(store, clock, {}) == ["load"]
    assert await status_of(store, run.id) == "completed"


async def test_cancel_stops_queued_and_running_tasks(store: SqlStore, clock: FakeClock) -> None:
    tasks: list[Task] = [("a", [], {}), ("b", [], {}), ("c", ["a", "b"], {})]
    pipeline = await add_pipeline(store, clock, tasks)
    run = await trigger(store, clock, pipeline)
    wid = await add_worker(store, clock)
    [first] = await claim(store, clock, wid, limit=1)
    await start(store, [(first.run_id, first.fence, wid)], now=clock.now())
    stopping = await store.pipeline_runs.cancel(run.id, by="tester", now=clock.now())
    assert stopping == [(first.run_id, wid)]
    states = await tasks_of(store, run.id)
    assert states["c"] == ("skipped", "pipeline cancelled")
    assert sorted(s for s, _ in states.values()) == ["cancelled", "running", "skipped"]
    assert await status_of(store, run.id) == "cancelled"
    # the running task ends cancelled when its worker reports; the run stays cancelled
    await complete(store, [Completion(first.run_id, first.fence, "cancelled")], now=clock.now())
    assert sorted(s for s, _ in (await tasks_of(store, run.id)).values()) == [
        "cancelled",
        "cancelled",
        "skipped",
    ]
    assert await status_of(store, run.id) == "cancelled"


async def test_a_task_run_cancelled_by_itself_advances_its_pipeline(
    store: SqlStore, clock: FakeClock
) -> None:
    pipeline = await add_pipeline(store, clock)
    run = await trigger(store, clock, pipeline)
    extract = (await store.pipeline_runs.run(run.id)).tasks[0]
    await store.runs.cancel(extract.run_id or "", by="tester", now=clock.now())
    states = await tasks_of(store, run.id)
    assert states["load"] == ("skipped", "upstream cancelled: extract")
    assert states["notify"] == ("skipped", "upstream cancelled: extract")
    assert await status_of(store, run.id) == "failed"


async def test_a_bulk_cancel_advances_its_pipelines(store: SqlStore, clock: FakeClock) -> None:
    pipeline = await add_pipeline(store, clock)
    run = await trigger(store, clock, pipeline)
    extract = (await store.pipeline_runs.run(run.id)).tasks[0]
    await store.bulk.runs_cancel(RunSelection(ids=(extract.run_id or "",)), by="t", now=clock.now())
    assert (await tasks_of(store, run.id))["load"] == ("skipped", "upstream cancelled: extract")


async def test_lease_expiry_with_no_retry_left_fails_the_task(
    store: SqlStore, clock: FakeClock
) -> None:
    pipeline = await add_pipeline(store, clock)
    run = await trigger(store, clock, pipeline)
    wid = await add_worker(store, clock)
    [a] = await claim(store, clock, wid)
    await start(store, [(a.run_id, a.fence, wid)], now=clock.now())
    clock.advance(31)
    assert (await store.reaper.reap(now=clock.now(), lost_after=1000)).expired == [a.run_id]
    states = await tasks_of(store, run.id)
    assert states["extract"][0] == "failed"
    assert states["load"] == ("skipped", "upstream failed: extract")
    assert states["notify"] == ("queued", None)


async def test_a_missed_start_deadline_fails_the_task(store: SqlStore, clock: FakeClock) -> None:
    tasks: list[Task] = [("a", [], {"start_deadline": 60}), ("b", ["a"], {})]
    pipeline = await add_pipeline(store, clock, tasks)
    run = await trigger(store, clock, pipeline)
    clock.advance(61)
    assert len((await store.reaper.reap(now=clock.now(), lost_after=1000)).missed) == 1
    states = await tasks_of(store, run.id)
    assert states["a"][0] == "failed"
    assert states["b"] == ("skipped", "upstream failed: a")
    assert await status_of(store, run.id) == "failed"


async def test_on_overlap_skip_queue_and_cancel_previous(store: SqlStore, clock: FakeClock) -> None:
    skip = await add_pipeline(store, clock, name="s")
    first = await trigger(store, clock, skip)
    again = await store.pipeline_runs.trigger(
        skip.id, trigger="manual", parameters={}, idempotency_key=None, now=clock.now()
    )
    assert (again.run.id, again.created) == (first.id, False)

    queue = await add_pipeline(store, clock, [("x", [], {})], name="q", on_overlap="queue")
    one = await trigger(store, clock, queue)
    two = await trigger(store, clock, queue)
    assert (one.status, two.status) == ("running", "queued")
    assert (await tasks_of(store, two.id))["x"] == ("pending", None)
    names = await end_all(store, clock, {})
    assert names.count("x") == 1  # only the first pipeline run's task
    assert await status_of(store, one.id) == "completed"
    assert await status_of(store, two.id) == "running"  # started as the first ended

    replace = await add_pipeline(
        store, clock, [("y", [], {})], name="r", on_overlap="cancel_previous"
    )
    old = await trigger(store, clock, replace)
    new = await trigger(store, clock, replace)
    assert await status_of(store, old.id) == "cancelled"
    assert new.status == "running"


async def test_idempotency_key_returns_the_same_run(store: SqlStore, clock: FakeClock) -> None:
    pipeline = await add_pipeline(store, clock, on_overlap="allow")
    a = await trigger(store, clock, pipeline, key="k")
    b = await trigger(store, clock, pipeline, key="k")
    c = await trigger(store, clock, pipeline)
    assert a.id == b.id != c.id


def planner(now: datetime):  # type: ignore[no-untyped-def]
    def plan(p: Pipeline, calendar: CalendarSpec | None) -> tuple[TickPlan, datetime | None]:
        schedule = p.spec.ticks(calendar)
        assert schedule is not None and p.next_run is not None
        made = plan_ticks(
            schedule, due=p.next_run, now=now, catchup=p.spec.catchup, grace=60, limit=10
        )
        return made, made.next_due

    return plan


async def test_ticks_make_runs_and_an_overlapping_tick_is_skipped(
    store: SqlStore, clock: FakeClock
) -> None:
    pipeline = await add_pipeline(store, clock, schedule="every 1m")
    assert pipeline.next_run is not None
    clock.set(pipeline.next_run)
    due, made, skipped, _ = await store.pipeline_schedule.fire(
        now=clock.now(), limit=10, planner=planner(clock.now())
    )
    assert (due, made, skipped) == (1, 1, 0)
    runs, total, _ = await store.pipeline_runs.runs_page(
        pipeline.id, status=None, limit=10, cursor=None
    )
    assert total.count == 1 and runs[0].trigger == "schedule"
    assert runs[0].scheduled_for == pipeline.next_run
    clock.advance(60)
    due, made, _, _ = await store.pipeline_schedule.fire(
        now=clock.now(), limit=10, planner=planner(clock.now())
    )
    assert (due, made) == (1, 0)  # the first pipeline run is still active: skipped
    events = await store.events.history(limit=50, types=["pipeline_run.skipped"])
    assert [e.data["reason"] for e in events] == [
        "previous pipeline run still active (on_overlap=skip)"
    ]
    assert await store.pipeline_schedule.next_due() == pipeline.next_run + timedelta(minutes=2)


async def test_delete_refused_while_active_then_removes_the_task_jobs(
    store: SqlStore, clock: FakeClock
) -> None:
    pipeline = await add_pipeline(store, clock)
    run = await trigger(store, clock, pipeline)
    with pytest.raises(Conflict, match="is active"):
        await store.pipelines.delete(pipeline.id, now=clock.now())
    await store.pipeline_runs.cancel(run.id, by="t", now=clock.now())
    await store.pipelines.delete(pipeline.id, now=clock.now())
    assert await store.jobs.get("etl.extract", namespace="default") is None
    assert await store.pipeline_runs.run(run.id) is None


async def test_two_tasks_finishing_at_once_both_count(store: SqlStore, clock: FakeClock) -> None:
    """The join of two tasks whose reports commit concurrently: the pipeline run's lock makes
    the second advance see the first, so the joining task is queued once."""
    for round_ in range(5):
        tag = {"worker_tags": (f"r{round_}",)}
        tasks: list[Task] = [("a", [], tag), ("b", [], tag), ("c", ["a", "b"], tag)]
        pipeline = await add_pipeline(store, clock, tasks, name=f"join{round_}")
        run = await trigger(store, clock, pipeline)
        wid = await add_worker(store, clock, f"worker-join-{round_}", tags=(f"r{round_}",))
        got = await claim(store, clock, wid, limit=2, routes=(f"r{round_}",))
        assert len(got) == 2
        await asyncio.gather(
            *(
                store.reports.apply(
                    wid,
                    starts=[(a.run_id, a.fence)],
                    completions=[Completion(a.run_id, a.fence, "completed")],
                    limit=0,
                    now=clock.now(),
                )
                for a in got
            )
        )
        states = await tasks_of(store, run.id)
        assert states["c"] == ("queued", None), (round_, states)


async def test_an_attempt_to_be_retried_does_not_advance(store: SqlStore, clock: FakeClock) -> None:
    tasks: list[Task] = [("a", [], {"retries": 1, "retry_delay": 0}), ("b", ["a"], {})]
    pipeline = await add_pipeline(store, clock, tasks)
    run = await trigger(store, clock, pipeline)
    assert await end_all(store, clock, {"a": "failed"}) == ["a"]
    assert await tasks_of(store, run.id) == {"a": ("queued", None), "b": ("pending", None)}
    assert await status_of(store, run.id) == "running"
    assert await end_all(store, clock, {"a": "failed"}) == ["a"]  # its last attempt
    assert (await tasks_of(store, run.id))["b"] == ("skipped", "upstream failed: a")
    assert await status_of(store, run.id) == "failed"


async def test_retention_removes_old_finished_pipeline_runs_never_the_latest(
    store: SqlStore, clock: FakeClock
) -> None:
    """Pipeline runs go with the runs' age limit, never a pipeline's latest run, never one
    still going; task runs kept under their own rules forget the pipeline run that went."""
    pipeline = await add_pipeline(store, clock)
    old = await trigger(store, clock, pipeline, key="old")
    await end_all(store, clock, {})
    await end_all(store, clock, {})
    assert await status_of(store, old.id) == "completed"
    clock.advance(days=40)
    second = await trigger(store, clock, pipeline, key="second")
    await end_all(store, clock, {})
    await end_all(store, clock, {})
    assert await status_of(store, second.id) == "completed"
    clock.advance(days=40)
    going = await trigger(store, clock, pipeline, key="going")  # running: kept
    before = clock.now() - timedelta(days=30)
    r = store.retention
    assert await r.prune_pipeline_runs(now=clock.now(), before=before, limit=0, dry_run=True) == 2
    [kept_task] = [t for t in (await store.pipeline_runs.run(old.id)).tasks if t.name == "load"]
    assert await r.prune_pipeline_runs(now=clock.now(), before=before, limit=1) == 1
    assert await store.pipeline_runs.run(old.id) is None  # oldest first
    assert await r.prune_pipeline_runs(now=clock.now(), before=before, limit=10) == 1
    assert await store.pipeline_runs.run(second.id) is None
    assert await r.prune_pipeline_runs(now=clock.now(), before=before, limit=10) == 0
    assert await status_of(store, going.id) == "running"
    task_run = await store.runs.get(kept_task.run_id or "")
    assert task_run is not None and task_run.pipeline_run_id is None
