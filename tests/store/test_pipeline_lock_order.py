"""The lock order with pipelines (PostgreSQL): task runs reported, cancelled one by one and
in bulk and reaped, while their pipeline runs are triggered (alongside, or cancelling the
previous one), cancelled, retried and ticked, never deadlock; every pipeline run that ended
did so with its tasks ended."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable
from datetime import timedelta
from typing import Any

import pytest

from tickwork.domain.clock import FakeClock
from tickwork.domain.errors import Conflict, NotFound
from tickwork.domain.jobs import Dependency
from tickwork.domain.pipelines import Pipeline
from tickwork.domain.scheduling import TickPlan
from tickwork.store.locking import is_lock_conflict
from tickwork.store.sql import SqlStore

from .helpers import add_worker
from .test_lock_order import Load
from .test_store_pipelines import Task, add_pipeline

ROUNDS = 12

pytestmark = pytest.mark.parametrize("db_url", ["postgres"], indirect=True)

GRAPH: list[Task] = [
    ("a", [], {"retries": 1, "retry_delay": 0}),
    ("b", [], {}),
    ("c", ["a", "b"], {}),
    ("d", [Dependency("a", "failure")], {}),
    ("e", [Dependency("c", "done")], {"start_deadline": 2}),
]


class PipelineLoad(Load):
    def __init__(self, store: SqlStore, clock: FakeClock, pipes: list[Pipeline], rng: Any):
        super().__init__(store, clock, {}, rng)
        self.pipes = pipes

    def ops(self, workers: list[str], doomed: str | None) -> list[Awaitable[Any]]:
        ops: list[Awaitable[Any]] = []
        for wid in workers:
            ops += [self.claim(wid), self.heartbeat(wid), self.report(wid), self.report(wid)]
        ops += [
            self.trigger_pipeline(),
            self.trigger_pipeline(),
            self.cancel_pipeline_run(),
            self.retry_pipeline_run(),
            self.cancel_one(),
            self.bulk_cancel(),
            self.store.reaper.reap(now=self.clock.now() + timedelta(seconds=45), lost_after=40),
            self.store.pipeline_schedule.fire(now=self.clock.now(), limit=10, planner=self.tick),
        ]
        self.rng.shuffle(ops)
        return ops

    def tick(self, pipeline: Any, calendar: Any = None) -> tuple[TickPlan, Any]:
        now = self.clock.now()
        return TickPlan(fire=[now]), now + timedelta(seconds=1)

    async def trigger_pipeline(self) -> None:
        pipe = self.rng.choice(self.pipes)
        await self.store.pipeline_runs.trigger(
            pipe.id, trigger="manual", parameters={}, idempotency_key=None, now=self.clock.now()
        )

    async def _some_run(self, status: str) -> str | None:
        pipe = self.rng.choice(self.pipes)
        runs, _, _ = await self.store.pipeline_runs.runs_page(
            pipe.id, status=status, limit=5, cursor=None
        )
        return self.rng.choice(runs).id if runs else None

    async def cancel_pipeline_run(self) -> None:
        run_id = await self._some_run("running")
        if run_id is not None:
            await self.store.pipeline_runs.cancel(run_id, by="load", now=self.clock.now())

    async def retry_pipeline_run(self) -> None:
        run_id = await self._some_run("failed")
        if run_id is not None:
            await self.store.pipeline_runs.retry(run_id, now=self.clock.now())


async def test_pipelines_under_load_never_deadlock(store: SqlStore, clock: FakeClock) -> None:
    pipes = [
        await add_pipeline(store, clock, GRAPH, name="alongside", on_overlap="allow"),
        await add_pipeline(store, clock, GRAPH, name="latest", on_overlap="cancel_previous"),
        await add_pipeline(store, clock, GRAPH, name="ticking", schedule="1s", on_overlap="allow"),
    ]
    workers = [await add_worker(store, clock, f"worker-load-{i}") for i in range(3)]
    load = PipelineLoad(store, clock, pipes, random.Random(7))
    failures: list[BaseException] = []
    for _ in range(ROUNDS):
        results = await asyncio.gather(*load.ops(workers, None), return_exceptions=True)
        failures += [
            r
            for r in results
            if isinstance(r, BaseException) and not isinstance(r, (Conflict, NotFound))
        ]
        clock.advance(1)
    for _ in range(40):  # then the workers drain what is left
        for wid in workers:
            await load.claim(wid)
            await load.report(wid)
            await load.report(wid)
        clock.advance(1)
    deadlocks = [f for f in failures if is_lock_conflict(f)]
    assert not deadlocks, f"{len(deadlocks)} deadlocks, first: {deadlocks[0]}"
    assert not failures, failures[:3]
    seen = {e.type for e in await store.events.since(0, limit=100_000)}
    assert seen >= {
        "pipeline_run.started",
        "pipeline_run.finished",
        "pipeline_run.task_skipped",
        "run.completed",
        "run.failed",
        "run.cancelled",
    }
    ended = 0
    for pipe in pipes:
        for status in ("completed", "failed"):
            runs, _, _ = await store.pipeline_runs.runs_page(
                pipe.id, status=status, limit=500, cursor=None
            )
            for run in runs:
                ended += 1
                assert all(t.status not in ("pending", "queued") for t in run.tasks), run
    assert ended > 0
