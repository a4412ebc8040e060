"""The worker protocol's cycle in process, without HTTP (PostgreSQL): counted, not only timed.

``python -m benchmarks.cycle``: one coordinator's ``WorkerService`` driven the way a worker
drives it, on a fresh database, for two shapes of work:
  - drain: ``--runs`` queued runs of an ``allow`` job taken ``--batch`` at a time, each
    report completing a batch and carrying the claim of the next;
  - serial: runs of a ``concurrency: 1`` job, one at a time, each report completing one run
    and carrying the claim of the next;
  - spread: the drain again with each run of a job of its own (``--runs`` ``allow`` jobs, as
    at the top of a minute), then the leader's followers of the outbox (each job's status,
    the run totals) brought up to date: what distinct jobs cost beyond the drain of one.
For each it prints the runs per second, the coordinator's Python CPU per run and the psycopg
waits per cycle (each wait a trip through the event loop, most of them a round trip to the
database), and for the followers their CPU and waits per run. Waits and commits do not
depend on how busy the machine is, so they compare across sittings where the times do not.
The database is dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any

import psycopg

from benchmarks.run import database
from tickwork.config import Settings
from tickwork.domain.queries import NewRun
from tickwork.domain.runs import Assignment, Completion
from tickwork.service.container import Container
from tickwork.service.projection import JobStatusProjector, RunTotalsProjector
from tickwork.store import migrate
from tickwork.store.sql import SqlStore
from tickwork.testing.factories import job_spec


class Waits:
    """psycopg's waits on this process's async connections, counted."""

    def __init__(self) -> None:
        self.n = 0
        self._real: Any = psycopg.AsyncConnection.wait

    def __enter__(self) -> Waits:
        real, me = self._real, self

        async def counted(conn: Any, gen: Any, *a: Any, **kw: Any) -> Any:
            me.n += 1
            return await real(conn, gen, *a, **kw)

        psycopg.AsyncConnection.wait = counted  # type: ignore[method-assign]
        return self

    def __exit__(self, *_: object) -> None:
        psycopg.AsyncConnection.wait = self._real  # type: ignore[method-assign]


async def prepared(url: str) -> None:
    store = SqlStore(url)
    await migrate.upgrade(store.writer)
    await store.close()


async def cycles(c: Container, jobs: list[str], runs: int, batch: int) -> dict[str, float]:
    """Queue ``runs`` runs spread over ``jobs`` (ids); claim ``batch``, then report each batch
    completed with the claim of the next, until none is left; then the outbox's followers
    brought up to date."""
    await c.store.runs.bulk(
        [NewRun(job_id=jobs[i % len(jobs)], trigger="manual") for i in range(runs)],
        now=c.clock.now(),
    )
    worker = await c.workers.register(
        hostname="cycle", pid=1, tags=["default"], concurrency=batch, version="bench"
    )
    held = await c.workers.claim(worker.id, limit=batch, wait=0)
    done = 0
    reports = 0
    with Waits() as waits:
        start, cpu = time.perf_counter(), time.process_time()
        while held:
            out = await c.workers.report(
                worker.id,
                starts=[(a.run_id, a.fence) for a in held],
                logs=[],
                completions=[_done(a) for a in held],
                claim=batch,
            )
            done += sum(r.ok for r in out.completions)
            reports += 1
            held = list(out.claimed or [])
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    with Waits() as followed:
        follow_cpu = time.process_time()
        await follow(c)
        follow_cpu = time.process_time() - follow_cpu
    return {
        "runs": done,
        "rate": done / wall if wall else 0.0,
        "cpu_ms": 1000 * cpu / max(done, 1),
        "waits": waits.n / max(reports, 1),
        "per_run": waits.n / max(done, 1),
        "follow_ms": 1000 * follow_cpu / max(done, 1),
        "follow_waits": followed.n / max(done, 1),
    }


async def follow(c: Container) -> None:
    """The leader's followers of the outbox (each job's status, the run totals), passed until
    they have caught up."""
    status = JobStatusProjector(c.store, c.clock, c.notifier, lambda: True)
    totals = RunTotalsProjector(c.store, c.clock, lambda: True)
    await status.run_once()  # the first pass only finds its place
    await totals.run_once()
    while await status.run_once() | await totals.run_once():
        pass


SPREAD_JOBS = """
INSERT INTO jobs (id, name, type, spec, schedule_type, route, enabled, priority, concurrency,
                  running_count, created_at, updated_at)
SELECT 'job-spread-' || i, 'spread-' || lpad(i::text, 6, '0'), 'python',
       jsonb_build_object('name', 'spread-' || lpad(i::text, 6, '0'), 'type', 'python',
                          'function', 'benchjobs.noop', 'on_overlap', 'allow', 'retries', 0),
       NULL, 'default', true, 50, 1, 0, now(), now()
FROM generate_series(1, %(n)s) AS i
RETURNING id
"""


def _done(a: Assignment) -> Completion:
    return Completion(run_id=a.run_id, fence=a.fence, outcome="completed", elapsed=0.001)


async def measure(url: str, runs: int, batch: int, serial: int) -> dict[str, dict[str, float]]:
    c = Container(Settings(database_url=url, auth=False))
    await c.start(background=False, migrate_db=False)
    try:
        common: dict[str, Any] = {"type": "python", "function": "benchjobs.noop", "retries": 0}
        await c.jobs.create(job_spec("wide", **common, on_overlap="allow", concurrency=100_000))
        await c.jobs.create(job_spec("serial", **common, on_overlap="queue", concurrency=1))
        wide = [(await c.jobs.get("wide")).id]
        one = [(await c.jobs.get("serial")).id]
        async with await psycopg.AsyncConnection.connect(
            url.replace("postgresql", "postgres")
        ) as pg:
            spread = [r[0] for r in await (await pg.execute(SPREAD_JOBS, {"n": runs})).fetchall()]
            await pg.commit()
        await cycles(c, wide, batch * 20, batch)  # warm: prepared statements, caches
        return {
            "drain": await cycles(c, wide, runs, batch),
            "serial": await cycles(c, one, serial, 1),
            "spread": await cycles(c, spread, runs, batch),
        }
    finally:
        await c.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=6_400)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--serial", type=int, default=500)
    args = ap.parse_args()
    with database() as name:
        url = f"postgresql://postgres@127.0.0.1:5432/{name}"
        asyncio.run(prepared(url))
        got = asyncio.run(measure(url, args.runs, args.batch, args.serial))
    for shape, m in got.items():
        print(
            f"{shape:6}: {m['runs']:6.0f} runs, {m['rate']:7.0f} runs/s, "
            f"coordinator CPU {m['cpu_ms']:.3f} ms a run, "
            f"psycopg waits {m['waits']:.1f} a cycle ({m['per_run']:.2f} a run); "
            f"then the followers {m['follow_ms']:.3f} ms, {m['follow_waits']:.2f} waits a run"
        )


if __name__ == "__main__":
    main()
