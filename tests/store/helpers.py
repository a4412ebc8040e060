"""Shared steps for the store suites."""

from __future__ import annotations

from datetime import UTC, datetime

from tickwork.domain.clock import FakeClock
from tickwork.domain.jobs import Dependency, DependOn, Job, first_run
from tickwork.domain.records import ReportResult
from tickwork.domain.runs import Assignment, Completion, Worker
from tickwork.store.sql import SqlStore
from tickwork.testing import job_spec


async def add_job(
    store: SqlStore,
    clock: FakeClock,
    name: str,
    *,
    deps: list[Job] = (),  # type: ignore[assignment]
    on: dict[str, DependOn] | None = None,
    **fields: object,
) -> Job:
    """A job, depending on ``deps`` (each on success, or as ``on`` gives by name)."""
    now = clock.now()
    conditions = {d.name: (on or {}).get(d.name, "success") for d in deps}
    spec = job_spec(
        name, depends_on=tuple(Dependency(n, c) for n, c in conditions.items()), **fields
    )
    job = Job(
        id=f"job-{name}",
        spec=spec,
        created_at=now,
        updated_at=now,
        next_run=first_run(spec, job_id=f"job-{name}", now=now),
    )
    await store.jobs.insert(job, deps={d.id: conditions[d.name] for d in deps}, now=now)
    return job


async def add_worker(
    store: SqlStore,
    clock: FakeClock,
    wid: str = "worker-a",
    tags: tuple[str, ...] = ("default",),
    concurrency: int = 4,
) -> str:
    now = clock.now()
    await store.workers.register(
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
    return await store.claims.claim(
        worker_id=wid, routes=routes, limit=limit, lease=30, ack_timeout=10, now=clock.now()
    )


T0 = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


async def start(
    store: SqlStore, items: list[tuple[str, int, str]], *, now: datetime
) -> list[ReportResult]:
    """Confirm the starts of claimed runs: (run id, fence, worker id) each."""
    out = []
    for run_id, fence, wid in items:
        done = await store.reports.apply(wid, starts=[(run_id, fence)], limit=0, now=now)
        out += done.starts
    return out


async def log(
    store: SqlStore, items: list[tuple[str, int, str, str]], *, limit: int, now: datetime
) -> list[ReportResult]:
    """Append output chunks: (run id, fence, stream, text) each."""
    return (await store.reports.apply("", logs=items, limit=limit, now=now)).logs


async def complete(
    store: SqlStore, items: list[Completion], *, worker_id: str | None = None, now: datetime
) -> list[ReportResult]:
    return (
        await store.reports.apply(worker_id or "", completions=items, limit=0, now=now)
    ).completions
