"""`make bench`: tickwork end to end on PostgreSQL + Redis, beside a raw SKIP LOCKED loop.

Prints, from one run on this machine:
  - throughput of N no-op python runs and of N `true` shell runs through a real coordinator
    and 2 real worker processes (bulk-enqueued, counted from enqueue to the last completion);
  - fire lag (run created minus scheduled time) of 1,000 jobs due in the same second, p50/p99;
  - the raw claim-and-complete loop on the same database, and each figure as a ratio to it.
Everything runs on 127.0.0.1 and stops by itself; the benchmark database is dropped.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from tests.integration.harness import Cluster, wait_until

from benchmarks import raw

ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
JOBS = Path(__file__).resolve().parent / "jobs"


@contextlib.contextmanager
def database() -> Iterator[str]:
    name = f"tw_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        with psycopg.connect(ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def completed(c: Cluster, job: str) -> int:
    r = c.http.get("/api/runs", params={"job": job, "status": "completed", "limit": 1})
    return int(r.json()["total"])


def throughput(c: Cluster, job: str, n: int) -> float:
    """Enqueue n runs of ``job`` in bulk requests; runs/s until the last one completed."""
    start = time.perf_counter()
    for offset in range(0, n, 5000):
        body = {
            "runs": [
                {"job": job, "idempotency_key": f"b{i}"}
                for i in range(offset, min(n, offset + 5000))
            ]
        }
        r = c.http.post("/api/runs/bulk", json=body, timeout=120)
        r.raise_for_status()
    wait_until(lambda: completed(c, job) >= n, timeout=900, every=0.25, what=f"{n} runs of {job}")
    return n / (time.perf_counter() - start)


def fire_lag(c: Cluster, n: int) -> tuple[list[float], float]:
    """n one-time jobs all due in the same second: seconds from due to each run's creation
    (its queued_at, taken when the scheduler pass begins), and seconds from due until all n
    runs were committed and visible through the API (polled every 5 ms)."""
    due = (datetime.now(UTC) + timedelta(seconds=20 + n / 150)).replace(microsecond=0)
    for i in range(n):
        c.http.post(
            "/api/jobs",
            json={
                "name": f"lag-{i:04d}",
                "type": "shell",
                "command": "true",
                "schedule": due.isoformat(),
            },
        )
    if datetime.now(UTC) >= due:
        raise RuntimeError("creating the jobs took longer than planned; raise the offset")
    wait_until(
        lambda: (
            c.http.get(
                "/api/runs", params={"limit": 1, "since": (due - timedelta(seconds=1)).isoformat()}
            ).json()["total"]
            >= n
        ),
        timeout=120,
        every=0.005,
        what=f"{n} scheduled runs",
    )
    visible = (datetime.now(UTC) - due).total_seconds()
    lags: list[float] = []
    cursor = None
    while True:
        page = c.http.get(
            "/api/runs", params={"limit": 500, "cursor": cursor} if cursor else {"limit": 500}
        ).json()
        lags += [
            (
                datetime.fromisoformat(r["queued_at"]) - datetime.fromisoformat(r["scheduled_for"])
            ).total_seconds()
            for r in page["runs"]
            if r["trigger"] == "schedule"
        ]
        cursor = page["next_cursor"]
        if not cursor:
            return lags, visible


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=10_000)
    ap.add_argument("--fire", type=int, default=1_000)
    ap.add_argument("--concurrency", type=int, default=32, help="slots per worker")
    args = ap.parse_args()
    out: dict[str, float] = {}
    with database() as db:
        dsn = f"host=127.0.0.1 port=5432 user=postgres dbname={db}"
        out["raw"] = raw.measure(dsn, args.runs)
        url = f"postgresql://postgres@127.0.0.1:5432/{db}"
        c = Cluster(
            url, "redis://127.0.0.1:6379/0", f"bench:{uuid.uuid4().hex[:6]}", log_level="warning"
        )
        try:
            c.start_coordinator()
            for _ in range(2):
                c.start_worker(
                    concurrency=args.concurrency,
                    extra=["--path", str(JOBS), "--log-level", "warning"],
                )
            for name, body in (
                ("py-noop", {"type": "python", "function": "benchjobs.noop"}),
                ("sh-true", {"type": "shell", "command": "true"}),
            ):
                c.create_job(name=name, retries=0, concurrency=100_000, on_overlap="allow", **body)
            out["python"] = throughput(c, "py-noop", args.runs)
            out["shell"] = throughput(c, "sh-true", args.runs)
            lags, visible = fire_lag(c, args.fire)
        finally:
            c.close()
    report(out, lags, visible, args)


def report(
    out: dict[str, float], lags: list[float], visible: float, args: argparse.Namespace
) -> None:
    raw_per_run = 1 / out["raw"]
    batch_raw = args.fire * raw_per_run
    lines = [
        f"tickwork bench — {args.runs} runs, 2 workers x {args.concurrency} slots, "
        f"PostgreSQL + Redis on this machine ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC)",
        f"  raw SKIP LOCKED claim+complete loop : {out['raw']:8.0f} runs/s   (1.00)",
        f"  python no-op, end to end            : {out['python']:8.0f} runs/s   "
        f"({out['python'] / out['raw']:.2f} of raw)",
        f"  shell `true`, end to end            : {out['shell']:8.0f} runs/s   "
        f"({out['shell'] / out['raw']:.2f} of raw)",
        f"  fire lag, {len(lags)} jobs due in one second: p50 {pct(lags, 0.5) * 1000:.0f} ms, "
        f"p99 {pct(lags, 0.99) * 1000:.0f} ms, max {max(lags) * 1000:.0f} ms, "
        f"mean {statistics.fmean(lags) * 1000:.0f} ms",
        f"  all {args.fire} runs committed and visible {visible * 1000:.0f} ms after their time "
        f"(the raw loop needs {batch_raw * 1000:.0f} ms for {args.fire} rows: "
        f"{visible / batch_raw:.1f}x that)",
    ]
    sys.stdout.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
