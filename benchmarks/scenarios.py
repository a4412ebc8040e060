"""The measurements `make bench` makes against a real coordinator and real workers.

Each function drives the cluster over HTTP like a user would and reads timings the server
recorded (queued_at, started_at, finished_at) from the database, so the client's own speed
does not blur them.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import psycopg
from tests.integration.harness import Cluster, wait_until

from benchmarks.loadgen import hammer, request_bytes
from benchmarks.measure import pct


class Metered(Protocol):
    """What a scenario measures around its busy part (run.py: CPU and rows written)."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


@dataclass
class Bench:
    """A cluster plus a direct connection to its database for reading recorded times."""

    c: Cluster
    dsn: str
    figures: dict[str, Any] = field(default_factory=dict)
    token: str | None = None

    def sql(self, query: str, *args: Any) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            return conn.execute(query, args).fetchall()

    def sql_exec(self, query: str, params: dict[str, Any]) -> None:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            conn.execute(query, params)  # type: ignore[arg-type]

    def job_id(self, name: str) -> str:
        return str(self.c.http.get(f"/api/jobs/{name}").json()["id"])

    def count(self, job: str, status: str) -> int:
        """Exactly, from the database: the API's ``total`` becomes an estimate above 10,000
        matches, and the drain must not end on an estimate."""
        ((n,),) = self.sql(
            "SELECT count(*) FROM runs r JOIN jobs j ON j.id = r.job_id "
            "WHERE j.name = %s AND r.status = %s",
            job,
            status,
        )
        return int(n)


def bulk_enqueue(b: Bench, job: str, n: int, prefix: str) -> float:
    """Queue ``n`` runs of ``job`` through POST /api/runs/bulk; runs/s of the enqueue alone."""
    start = time.perf_counter()
    for offset in range(0, n, 5000):
        body = {
            "runs": [
                {"job": job, "idempotency_key": f"{prefix}{i}"}
                for i in range(offset, min(n, offset + 5000))
            ]
        }
        r = b.c.http.post("/api/runs/bulk", json=body, timeout=300)
        r.raise_for_status()
    return n / (time.perf_counter() - start)


def drain(b: Bench, job: str, n: int) -> float:
    """Runs/s from the first claim to the last finish of ``job``'s runs (server times)."""
    wait_until(
        lambda: b.count(job, "completed") >= n,
        timeout=1800,
        every=0.2,
        what=f"{n} runs of {job}",
    )
    ((first, last),) = b.sql(
        "SELECT min(claimed_at), max(finished_at) FROM runs WHERE job_id = %s", b.job_id(job)
    )
    return n / max((last - first).total_seconds(), 1e-9)


def triggers(b: Bench, job: str, *, clients: int = 32, per_client: int = 100) -> None:
    """Single-call POST …/trigger from ``clients`` concurrent clients (enqueue only)."""
    request = request_bytes("POST", b.c.url, f"/api/jobs/{job}/trigger", token=b.token)
    start = time.perf_counter()
    calls = asyncio.run(hammer(b.c.url, request, connections=clients, per_connection=per_client))
    elapsed = time.perf_counter() - start
    if set(calls.statuses) != {202}:
        raise RuntimeError(f"triggers answered {calls.statuses}; first: {calls.first_error}")
    lat = calls.latencies
    b.figures["trigger"] = {
        "rate": len(lat) / elapsed,
        "p50": pct(lat, 0.5),
        "p99": pct(lat, 0.99),
        "clients": clients,
        "n": len(lat),
    }


def idle_latency(b: Bench, job: str, n: int = 50) -> None:
    """One run at a time on idle workers: queued → claimed and queued → finished."""
    ids = []
    for _ in range(n):
        run_id = b.c.trigger(job)
        b.c.wait_status(run_id, "completed", timeout=30)
        ids.append(run_id)
        time.sleep(0.02)  # let the workers go back to waiting
    rows = b.sql(
        "SELECT claimed_at - queued_at, finished_at - queued_at, started_at - queued_at "
        "FROM runs WHERE id = ANY(%s)",
        ids,
    )
    b.figures["idle"] = {
        "claim_p50": pct([r[0].total_seconds() for r in rows], 0.5),
        "claim_p99": pct([r[0].total_seconds() for r in rows], 0.99),
        "done_p50": pct([r[1].total_seconds() for r in rows], 0.5),
        "start_p50": pct([r[2].total_seconds() for r in rows], 0.5),
        "start_p99": pct([r[2].total_seconds() for r in rows], 0.99),
        "n": n,
    }


def serial(b: Bench, job: str, n: int, *, within: float = 30.0) -> None:
    """A job with concurrency 1: its runs one after another as fast as they go (at most
    ``within`` seconds; then the job and what is left of its runs are deleted)."""
    bulk_enqueue(b, job, n, "s")
    deadline = time.monotonic() + within
    while b.count(job, "completed") < n and time.monotonic() < deadline:
        time.sleep(0.2)
    ((done, first, last),) = b.sql(
        "SELECT count(*), min(claimed_at), max(finished_at) FROM runs "
        "WHERE job_id = %s AND status = 'completed'",
        b.job_id(job),
    )
    # where a cycle goes, in the coordinator's own times: a run's claim to its finish
    # (the worker's part and the report's trip), its finish to the next run's claim
    times = b.sql(
        "SELECT claimed_at, finished_at FROM runs "
        "WHERE job_id = %s AND status = 'completed' ORDER BY claimed_at",
        b.job_id(job),
    )
    held = [(f - c).total_seconds() for c, f in times]
    gaps = [(n[0] - p[1]).total_seconds() for p, n in itertools.pairwise(times)]
    b.c.http.delete(f"/api/jobs/{job}", params={"force": "true"}).raise_for_status()
    rate = done / max((last - first).total_seconds(), 1e-9) if done > 1 else 0.0
    b.figures["serial"] = {
        "rate": rate,
        "n": done,
        "held_p50": pct(held, 0.5) if held else float("nan"),
        "gap_p50": pct(gaps, 0.5) if gaps else float("nan"),
    }


def retry_precision(b: Bench, job: str, n: int = 10, delay: float = 1.0) -> None:
    """Runs whose first attempt fails with retry_delay ``delay`` s: the second attempt's start
    minus its due time (the first attempt's end plus the delay, both server times)."""
    ids = [b.c.trigger(job, idempotency_key=f"retry-{i}") for i in range(n)]
    for run_id in ids:
        b.c.wait_status(run_id, "completed", timeout=60)
    rows = b.sql(
        "SELECT r.started_at - a.finished_at FROM runs r JOIN attempts a "
        "ON a.run_id = r.id AND a.number = 1 WHERE r.id = ANY(%s)",
        ids,
    )
    late = [r[0].total_seconds() - delay for r in rows]
    b.figures["retry"] = {"p50": pct(late, 0.5), "max": max(late), "n": len(late)}


def fire_lag(b: Bench, n: int) -> None:
    """n one-time jobs all due in the same second: queued_at minus the due time of each run,
    and when all n were committed and visible through the API (polled every 5 ms)."""
    due = (datetime.now(UTC) + timedelta(seconds=20 + n / 100)).replace(microsecond=0)
    for i in range(n):
        b.c.create_job(
            name=f"lag-{i:04d}",
            type="shell",
            command="true",
            schedule=due.isoformat(),
            worker_tags=["bench-lag"],
        )
    if datetime.now(UTC) >= due:
        raise RuntimeError("creating the jobs took longer than planned; raise the offset")
    wait_until(
        lambda: (
            b.c.http.get(
                "/api/runs", params={"limit": 1, "since": (due - timedelta(seconds=1)).isoformat()}
            ).json()["total"]
            >= n
        ),
        timeout=120,
        every=0.005,
        what=f"{n} scheduled runs",
    )
    visible = (datetime.now(UTC) - due).total_seconds()
    rows = b.sql(
        "SELECT queued_at - scheduled_for FROM runs WHERE trigger = 'schedule' "
        "AND scheduled_for = %s",
        due,
    )
    lags = [r[0].total_seconds() for r in rows]
    b.figures["fire"] = {
        "n": len(lags),
        "p50": pct(lags, 0.5),
        "p99": pct(lags, 0.99),
        "max": max(lags),
        "visible": visible,
    }


MINUTE_JOBS_SQL = """
INSERT INTO jobs (id, name, type, spec, schedule_type, route, enabled, priority, concurrency,
                  running_count, next_run, created_at, updated_at)
SELECT 'job-minute-' || i, 'minute-' || lpad(i::text, 6, '0'), 'python',
       jsonb_build_object('name', 'minute-' || lpad(i::text, 6, '0'), 'type', 'python',
                          'function', 'benchjobs.noop', 'schedule', '* * * * *',
                          'on_overlap', 'allow', 'retries', 0),
       'cron', 'default', true, 50, 1, 0, %(due)s, now(), now()
FROM generate_series(1, %(n)s) AS i
"""


def top_of_minute(b: Bench, n: int, meter: Metered | None = None) -> None:
    """n python no-op jobs on `* * * * *` served by the bench's workers: whether the tick's
    runs were all committed before the minute (written ahead), and how fast the workers
    drained them from the minute on. The jobs are added in SQL (as ``make bench-scale``
    does) for the first whole minute at least 70 s away, so the scheduler writes the
    tick's runs ahead of it, and taken out once the tick is drained."""
    due = (datetime.now(UTC) + timedelta(seconds=130)).replace(second=0, microsecond=0)
    b.sql_exec(MINUTE_JOBS_SQL, {"n": n, "due": due})
    try:
        wait_until(
            lambda: datetime.now(UTC) >= due - timedelta(seconds=4),
            timeout=200,
            every=0.1,
            what="the minute",
        )
        if meter:
            meter.start()
        wait_until(
            lambda: datetime.now(UTC) >= due - timedelta(seconds=0.5),
            timeout=10,
            every=0.1,
            what="the minute",
        )
        ((before,),) = b.sql(
            "SELECT count(*) FROM runs WHERE scheduled_for = %s AND job_id LIKE 'job-minute-%%'",
            due,
        )
        wait_until(
            lambda: (
                b.sql(
                    "SELECT count(*) FROM runs WHERE scheduled_for = %s "
                    "AND job_id LIKE 'job-minute-%%' AND status = 'completed'",
                    due,
                )[0][0]
                >= n
            ),
            timeout=600,
            every=0.2,
            what=f"{n} runs of the minute",
        )
        if meter:
            meter.stop()
        ((first, last),) = b.sql(
            "SELECT min(claimed_at), max(finished_at) FROM runs WHERE scheduled_for = %s "
            "AND job_id LIKE 'job-minute-%%'",
            due,
        )
    finally:  # no later tick: the jobs and their runs written ahead go
        b.sql_exec("UPDATE jobs SET enabled = false WHERE id LIKE 'job-minute-%%'", {})
        b.sql_exec("DELETE FROM runs WHERE job_id LIKE 'job-minute-%%' AND status = 'queued'", {})
    b.figures["minute"] = {
        "n": n,
        "before": before,
        "first": (first - due).total_seconds(),
        "all": (last - due).total_seconds(),
        "rate": n / max((last - due).total_seconds(), 1e-9),
    }
