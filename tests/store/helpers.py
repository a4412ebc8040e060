"""Shared steps for the store suites."""

from __future__ import annotations

from datetime import UTC, datetime

from tickwork.domain.clock import FakeClock
from tickwork.domain.jobs import Job, first_run
from tickwork.domain.runs import Assignment, Worker
from tickwork.store.sql import SqlStore
from tickwork.testing import job_spec


async def add_job(
    store: SqlStore,
    clock: FakeClock,
    name: str,
    *,
    deps: list[Job] = (),  # type: ignore[assignment]
    **fields: object,
) -> Job:
    now = clock.now()
    spec = job_spec(name, depends_on=tuple(d.name for d in deps), **fields)
    job = Job(
        id=f"job-{name}",
        spec=spec,
        created_at=now,
        updated_at=now,
        next_run=first_run(spec, job_id=f"job-{name}", now=now),
    )
    await store.job_insert(job, dep_ids=[d.id for d in deps], now=now)
    return job


async def add_worker(
    store: SqlStore,
    clock: FakeClock,
    wid: str = "worker-a",
    tags: tuple[str, ...] = ("default",),
    concurrency: int = 4,
) -> str:
    now = clock.now()
    await store.worker_register(
        Worker(
            id=wid,
            hostname="h",
            pid=1,
            tags=tags,
            concurrency=concurrency,
            version="t",
            status="online",
            registered_at=now,
            last_heartbeat=now,
        ),
        now=now,
    )
    return wid


async def claim(
    store: SqlStore,
    clock: FakeClock,
    wid: str = "worker-a",
    limit: int = 10,
    routes: tuple[str, ...] = ("default",),
) -> list[Assignment]:
    return await store.run_claim(
        worker_id=wid, routes=routes, limit=limit, lease=30, ack_timeout=10, now=clock.now()
    )


T0 = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
