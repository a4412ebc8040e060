"""`make bench-scale`: the API and retention at a million jobs and millions of runs.

Fills a fresh PostgreSQL database with generate_series (``--jobs`` jobs with tags, schedule
kinds and statuses; ``--runs`` runs spread over 40 days), then prints from one run:
  - p50/p99 of every list and filter of GET /api/jobs and /api/runs, a job's page and
    /api/stats, through the real application (in process, no network);
  - the prune rate of the retention pass over the runs older than 30 days, and how long a
    trigger takes meanwhile;
  - ``--minutely`` jobs on `* * * * *` (another database): when each run of one minute's
    tick is committed and claimable, relative to the minute (``--ahead``: schedule_ahead).
Bounded in time: each phase stops by itself; the database is dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import psycopg

from benchmarks.measure import pct
from benchmarks.run import database
from tickwork.api.app import create_app
from tickwork.config import Settings
from tickwork.service.container import Container
from tickwork.store import migrate
from tickwork.store.sql import SqlStore

TAGS = 20
JOBS_SQL = """
INSERT INTO jobs (id, name, type, spec, schedule_type, route, enabled, priority, concurrency,
                  running_count, next_run, last_run_status, last_run_at, created_at, updated_at)
SELECT 'job-s' || i, 'scale-' || lpad(i::text, 8, '0'), 'shell',
       jsonb_build_object('name', 'scale-' || lpad(i::text, 8, '0'), 'type', 'shell',
                          'command', 'true', 'schedule', '0 * * * *',
                          'on_overlap', 'allow', 'concurrency', 1000),
       CASE WHEN i %% 100 = 0 THEN 'once' WHEN i %% 3 = 0 THEN 'interval' ELSE 'cron' END,
       'default', i %% 50 <> 0, 50, 1, 0,
       now() + make_interval(secs => 60 + i %% 3600),
       CASE WHEN i %% 40 = 0 THEN 'failed' WHEN i %% 7 = 0 THEN NULL ELSE 'completed' END,
       now() - interval '1 hour', now(), now()
FROM generate_series(1, %(n)s) AS i
"""
TAGS_SQL = """
INSERT INTO job_tags (job_id, tag, name, namespace, listed)
SELECT 'job-s' || i, 'team-' || (i %% %(tags)s), 'scale-' || lpad(i::text, 8, '0'),
       'default', true
FROM generate_series(1, %(n)s) AS i
"""
RUNS_SQL = """
INSERT INTO runs (id, job_id, trigger, scheduled_for, idempotency_key, parameters, status, route,
                  priority, attempt, max_attempts, timeout, bypass_concurrency, fence,
                  cancel_requested, queued_at, started_at, finished_at, duration, exit_code,
                  upstream_run_ids)
SELECT 'run-s' || i, 'job-s' || (1 + i %% %(jobs)s), 'manual', NULL, 'k' || i, '{}'::jsonb,
       CASE WHEN i %% 50 = 0 THEN 'failed' WHEN i %% 997 = 0 THEN 'cancelled' ELSE 'completed' END,
       'default', 50, 1, 1, 3600, false, 1, false,
       q, q, q + make_interval(secs => d), d, 0, '[]'::jsonb
FROM (SELECT i, now() - make_interval(secs => (i::float8 / %(runs)s) * 40 * 86400) AS q,
             0.5 + (i %% 997) * 0.01 AS d
      FROM generate_series(1, %(runs)s) AS i) AS s
"""


def fill(dsn: str, jobs: int, runs: int) -> dict[str, float]:
    took: dict[str, float] = {}
    with psycopg.connect(dsn, autocommit=True) as conn:
        for name, sql, params in (
            ("jobs", JOBS_SQL, {"n": jobs}),
            ("tags", TAGS_SQL, {"n": jobs, "tags": TAGS}),
            ("runs", RUNS_SQL, {"jobs": jobs, "runs": runs}),
        ):
            start = time.perf_counter()
            conn.execute(sql, params)  # type: ignore[arg-type]
            took[name] = time.perf_counter() - start
        conn.execute("VACUUM ANALYZE")
    return took


async def latencies(
    call: Callable[[], Awaitable[httpx.Response]], *, n: int, budget: float
) -> tuple[float, float, int]:
    """p50 and p99 in ms of ``n`` calls (fewer if ``budget`` seconds run out)."""
    await call()  # warm: plans, caches
    times: list[float] = []
    stop = time.perf_counter() + budget
    while len(times) < n and time.perf_counter() < stop:
        start = time.perf_counter()
        answer = await call()
        times.append((time.perf_counter() - start) * 1000)
        if answer.status_code != 200:
            raise SystemExit(f"{answer.request.url} answered {answer.status_code}: {answer.text}")
    return pct(times, 0.5), pct(times, 0.99), len(times)


async def measure_api(url: str, args: argparse.Namespace) -> list[tuple[str, float, float, int]]:
    container = Container(Settings(database_url=url, auth=False))
    await container.start(background=False, migrate_db=False)
    out: list[tuple[str, float, float, int]] = []
    try:
        app = create_app(container, manage_lifecycle=False)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as api:
            probes: list[tuple[str, str, dict[str, Any]]] = [
                ("jobs: first page", "/api/jobs", {}),
                ("jobs: page 2 (cursor)", "/api/jobs", {"cursor": "__next__"}),
                ("jobs ?tag=", "/api/jobs", {"tag": "team-7"}),
                ("jobs ?q= (1 match)", "/api/jobs", {"q": "00123457"}),
                ("jobs ?q= (common)", "/api/jobs", {"q": "scale-00"}),
                ("jobs ?schedule_type=once", "/api/jobs", {"schedule_type": "once"}),
                ("jobs ?status=failed", "/api/jobs", {"status": "failed"}),
                ("job by name", "/api/jobs/scale-00004242", {}),
                ("runs: first page", "/api/runs", {}),
                ("runs ?status=failed", "/api/runs", {"status": "failed"}),
                ("runs ?job=", "/api/runs", {"job": "scale-00004242"}),
                ("runs ?since=-1h window", "/api/runs", {"since": "__hour__"}),
                ("runs ?sort=duration", "/api/runs", {"sort": "duration"}),
                (
                    "runs ?status=failed&sort=duration",
                    "/api/runs",
                    {"status": "failed", "sort": "duration"},
                ),
                (
                    "runs ?job=&sort=duration",
                    "/api/runs",
                    {"job": "scale-00004242", "sort": "duration"},
                ),
                (
                    "runs ?sort=started_at&order=asc",
                    "/api/runs",
                    {"sort": "started_at", "order": "asc"},
                ),
                ("stats", "/api/stats", {}),
            ]
            first = (await api.get("/api/jobs")).json()
            hour = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 3600))
            for label, path, params in probes:
                params = {
                    k: first["next_cursor"] if v == "__next__" else hour if v == "__hour__" else v
                    for k, v in params.items()
                }

                def call(path: str = path, params: dict[str, Any] = params) -> Any:
                    return api.get(path, params=params)

                p50, p99, n = await latencies(call, n=args.calls, budget=args.budget)
                out.append((label, p50, p99, n))
                print(f"  {label:<28} p50 {p50:7.1f} ms  p99 {p99:7.1f} ms  ({n} calls)")
    finally:
        await container.stop()
    return out


async def measure_prune(url: str, args: argparse.Namespace) -> dict[str, float]:
    """The retention pass over the runs older than 30 days, with a trigger every 100 ms."""
    container = Container(Settings(database_url=url, auth=False, prune_pause=0.05))
    await container.start(background=False, migrate_db=False)
    trigger_ms: list[float] = []
    pruned = 0
    start = time.perf_counter()
    try:

        async def triggers() -> None:
            while True:
                t0 = time.perf_counter()
                await container.jobs.trigger("scale-00000001")
                trigger_ms.append((time.perf_counter() - t0) * 1000)
                await asyncio.sleep(0.1)

        side = asyncio.create_task(triggers())
        stop = start + args.prune_budget
        backlog = True
        while backlog and time.perf_counter() < stop:
            counts, backlog = await container.pruner.round(container.clock.now())
            pruned += counts.runs
            await asyncio.sleep(container.pruner.pause)
        side.cancel()
    finally:
        await container.stop()
    took = time.perf_counter() - start
    return {
        "pruned": pruned,
        "seconds": took,
        "rate": pruned / took if took else 0.0,
        "trigger_p50": pct(trigger_ms, 0.5) if trigger_ms else float("nan"),
        "trigger_p99": pct(trigger_ms, 0.99) if trigger_ms else float("nan"),
        "trigger_mean": statistics.fmean(trigger_ms) if trigger_ms else float("nan"),
    }


MINUTE_SQL = """
INSERT INTO jobs (id, name, type, spec, schedule_type, route, enabled, priority, concurrency,
                  running_count, next_run, created_at, updated_at)
SELECT 'job-m' || i, 'minutely-' || lpad(i::text, 6, '0'), 'shell',
       jsonb_build_object('name', 'minutely-' || lpad(i::text, 6, '0'), 'type', 'shell',
                          'command', 'true', 'schedule', '* * * * *',
                          'worker_tags', jsonb_build_array('nobody')),
       'cron', 'nobody', true, 50, 1, 0, %(due)s, now(), now()
FROM generate_series(1, %(n)s) AS i
"""


async def top_of_minute(url: str, dsn: str, n: int, ahead: float) -> dict[str, float]:
    """n jobs on `* * * * *` (no worker serves them), the scheduler writing ``ahead`` seconds
    ahead (``schedule_ahead``): for the first whole minute after the scheduler starts, how
    many of the tick's runs were committed before the minute, and when (seconds after the
    minute, negative before it) the first, half, 99 % and all of them were committed and
    claimable (a run is claimable from max(its commit, its not_before), seen by another
    connection polling every 50 ms); and how long the scheduler's pass at the tick took."""
    from datetime import UTC, datetime, timedelta

    # the minute after the scheduler's first write: the whole ``ahead`` window to write in
    due = (datetime.now(UTC) + timedelta(seconds=ahead + 75)).replace(second=0, microsecond=0)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(MINUTE_SQL, {"n": n, "due": due})
        conn.execute("VACUUM ANALYZE jobs")
    settings = Settings(database_url=url, auth=False, schedule_ahead=ahead)
    container = Container(settings)
    await container.start(migrate_db=False)
    seen: list[tuple[float, int, int]] = []  # (seconds after the minute, committed, claimable)
    at_tick: list[float] = []
    real = container.store.schedule.at_tick

    async def timed(**kw: Any) -> Any:
        start = time.perf_counter()
        try:
            return await real(**kw)
        finally:
            at_tick.append(time.perf_counter() - start)

    container.store.schedule.at_tick = timed  # type: ignore[method-assign]
    try:
        # from before the scheduler's first write until all are claimable
        await asyncio.sleep(max(0.0, (due - datetime.now(UTC)).total_seconds() - ahead - 5))
        seen = await asyncio.to_thread(watch_commits, dsn, due, n, ahead + 245.0)
    finally:
        await container.stop()
    with psycopg.connect(dsn) as conn:
        made = conn.execute("SELECT count(*) FROM runs WHERE scheduled_for = %s", (due,))
        runs = made.fetchone()[0]  # type: ignore[index]

    def first_at(share: float, column: int) -> float:
        return next((at for at, *k in seen if k[column - 1] >= share * n), float("nan"))

    before = max((c for at, c, _ in seen if at < 0), default=0)
    return {
        "n": runs,
        "before": before,
        "first": next((at for at, c, _ in seen if c > 0), float("nan")),
        "c50": first_at(0.5, 1),
        "c99": first_at(0.99, 1),
        "c100": first_at(1.0, 1),
        "claimable_first": next((at for at, _, k in seen if k > 0), float("nan")),
        "claimable_all": first_at(1.0, 2),
        "at_tick": max(at_tick, default=float("nan")),
    }


def watch_commits(dsn: str, due: Any, n: int, budget: float) -> list[tuple[float, int, int]]:
    """(seconds after ``due``, runs of that tick committed, of them claimable by the
    database's clock) every 50 ms until all n are claimable."""
    seen: list[tuple[float, int, int]] = []
    with psycopg.connect(dsn, autocommit=True) as conn:
        stop = time.time() + budget
        while time.time() < stop:
            row = conn.execute(
                "SELECT count(*), count(*) FILTER (WHERE status = 'queued' AND "
                "(not_before IS NULL OR not_before <= now())) FROM runs WHERE scheduled_for = %s",
                (due,),
            ).fetchone()
            committed, claimable = row  # type: ignore[misc]
            seen.append((time.time() - due.timestamp(), committed, claimable))
            if claimable >= n:
                break
            time.sleep(0.05)
    return seen


async def migrated(url: str) -> None:
    store = SqlStore(url)
    await migrate.upgrade(store.writer)
    await store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=1_000_000, help="0: no API phase")
    parser.add_argument("--runs", type=int, default=10_000_000)
    parser.add_argument("--calls", type=int, default=200, help="calls per probe")
    parser.add_argument("--budget", type=float, default=20.0, help="seconds per probe at most")
    parser.add_argument("--prune-budget", type=float, default=120.0, help="0: no prune phase")
    parser.add_argument("--minutely", type=int, default=100_000, help="jobs on * * * * * (0: none)")
    parser.add_argument(
        "--ahead", type=float, default=60.0, help="schedule_ahead of the minutely phase (0: off)"
    )
    args = parser.parse_args()
    if args.jobs > 0:
        api_and_prune(args)
    if args.minutely <= 0:
        return
    with database() as name:
        dsn = f"host=127.0.0.1 port=5432 user=postgres dbname={name}"
        url = f"postgresql://postgres@127.0.0.1:5432/{name}"
        asyncio.run(migrated(url))
        print(
            f"top of the minute: {args.minutely:,} jobs on '* * * * *', "
            f"schedule_ahead {args.ahead:g} s …",
            flush=True,
        )
        m = asyncio.run(top_of_minute(url, dsn, args.minutely, args.ahead))
        print(
            f"  {m['n']:,.0f} runs, {m['before']:,.0f} committed before the minute; committed "
            f"(s after the minute): first {m['first']:.2f}, half {m['c50']:.2f}, "
            f"99% {m['c99']:.2f}, all {m['c100']:.2f}; claimable: first "
            f"{m['claimable_first']:.2f}, all {m['claimable_all']:.2f}; the pass at the tick "
            f"{m['at_tick']:.2f} s"
        )
    sys.stdout.flush()


def api_and_prune(args: argparse.Namespace) -> None:
    with database() as name:
        dsn = f"host=127.0.0.1 port=5432 user=postgres dbname={name}"
        url = f"postgresql://postgres@127.0.0.1:5432/{name}"
        asyncio.run(migrated(url))
        print(f"filling {args.jobs:,} jobs and {args.runs:,} runs …", flush=True)
        took = fill(dsn, args.jobs, args.runs)
        print("  " + ", ".join(f"{k} {v:.0f} s" for k, v in took.items()))
        print(f"API at {args.jobs:,} jobs and {args.runs:,} runs (in process, PostgreSQL):")
        asyncio.run(measure_api(url, args))
        if args.prune_budget > 0:
            print("retention: runs older than 30 days of 40 (batches of 500, 50 ms apart):")
            p = asyncio.run(measure_prune(url, args))
            print(
                f"  pruned {p['pruned']:,.0f} runs in {p['seconds']:.0f} s = "
                f"{p['rate']:,.0f} runs/s; a trigger meanwhile p50 {p['trigger_p50']:.1f} ms, "
                f"p99 {p['trigger_p99']:.1f} ms"
            )


if __name__ == "__main__":
    main()
