"""`python -m benchmarks.sleepers`: 10,000 sleeping ``async def`` runs held by two workers.

Starts a coordinator on PostgreSQL + Redis (127.0.0.1; a fresh database, dropped at the end) and
two workers with ``--concurrency 5000`` and 2 process slots each, queues ``--runs`` runs of an
``async def`` that sleeps ``--sleep`` seconds, and prints from one run:
  - the most runs running at once (sampled from the database every half second);
  - the memory of the workers with all their children (zygote, pool and async children), RSS
    and USS summed over the processes, at that peak; the coordinator's beside it;
  - while loaded: how long a cancel takes from the request to the run being cancelled, and how
    late a run with a 5 s timeout, queued just before the sleepers, is recorded timed out after
    its claim + 5 s;
  - lost (not completed) and doubled (executed more than once, counted by the job itself) runs.
Bounded: every wait has a deadline (``--within``); it stops by itself.
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from tests.integration.harness import Cluster, wait_until

from benchmarks import scenarios
from benchmarks.measure import _all_processes, tree
from benchmarks.run import JOBS, database

MiB = 1024 * 1024


def memory(roots: list[int]) -> dict[str, float]:
    """RSS and USS (MiB) summed over ``roots`` and all their descendants, and how many."""
    pids = tree(roots, _all_processes())
    rss = uss = 0
    for pid in pids:
        try:
            text = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except OSError:
            continue
        fields = {
            line.split(":")[0]: int(line.split()[1]) * 1024
            for line in text.splitlines()[1:]
            if line.split()[-1] == "kB"
        }
        rss += fields.get("Rss", 0)
        uss += fields.get("Private_Clean", 0) + fields.get("Private_Dirty", 0)
    return {"rss": rss / MiB, "uss": uss / MiB, "processes": len(pids)}


def running(b: scenarios.Bench, job_id: str) -> int:
    ((n,),) = b.sql(
        "SELECT count(*) FROM runs WHERE job_id = %s AND status = 'running' "
        "AND started_at IS NOT NULL",
        job_id,
    )
    return int(n)


def watch_peak(b: scenarios.Bench, job_id: str, n: int, within: float) -> dict[str, Any]:
    """Sample running runs until all ``n`` ran or none are left; memory at the peak."""
    peak, at_peak, mem = 0, 0.0, {}
    start = time.monotonic()
    while time.monotonic() - start < within:
        now = running(b, job_id)
        if now > peak:
            peak, at_peak = now, time.monotonic() - start
            mem = memory([p.pid for p in b.c.workers])
            mem["coordinator"] = memory([p.pid for p in b.c.coordinators])["rss"]
        if now >= n or (peak and now < peak * 0.9):
            break  # everything is in, or the first ones are finishing
        time.sleep(0.5)
    return {"peak": peak, "reached_after": at_peak, "memory": mem}


def cancel_latency(b: scenarios.Bench, job_id: str) -> float:
    ((run_id,),) = b.sql(
        "SELECT id FROM runs WHERE job_id = %s AND status = 'running' AND started_at IS NOT NULL "
        "LIMIT 1",
        job_id,
    )
    start = time.monotonic()
    b.c.http.post(f"/api/runs/{run_id}/cancel").raise_for_status()
    wait_until(
        lambda: b.c.run(run_id)["status"] == "cancelled", timeout=60, every=0.02, what="cancel"
    )
    return time.monotonic() - start


def timeout_lateness(b: scenarios.Bench, run_id: str, timeout: float) -> float:
    """How long after its claim + ``timeout`` the run was recorded timed out."""
    b.c.wait_status(run_id, "failed", "completed", timeout=120)
    ((claimed, finished, error),) = b.sql(
        "SELECT r.claimed_at, r.finished_at, a.error FROM runs r JOIN attempts a "
        "ON a.run_id = r.id WHERE r.id = %s",
        run_id,
    )
    assert "timed out" in (error or ""), error
    return (finished - claimed).total_seconds() - timeout  # from the claim: an upper bound


def outcome(b: scenarios.Bench, job_id: str, log: Path) -> dict[str, int]:
    by_status = dict(
        b.sql("SELECT status, count(*) FROM runs WHERE job_id = %s GROUP BY status", job_id)
    )
    executions = collections.Counter(line.split()[0] for line in log.read_text().splitlines())
    ((last_start, last_finish, longest),) = b.sql(
        "SELECT extract(epoch FROM max(started_at) - min(claimed_at)), "
        "extract(epoch FROM max(finished_at) - min(claimed_at)), "
        "extract(epoch FROM max(finished_at - started_at)) FROM runs WHERE job_id = %s",
        job_id,
    )
    return {
        "last_start_s": round(float(last_start), 1),
        "last_finish_s": round(float(last_finish), 1),
        "longest_run_s": round(float(longest), 1),
        **{f"status_{k}": int(v) for k, v in by_status.items()},
        "executed": len(executions),
        "doubled": sum(1 for c in executions.values() if c > 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=10_000)
    ap.add_argument("--sleep", type=float, default=60.0)
    ap.add_argument("--concurrency", type=int, default=5000, help="per worker")
    ap.add_argument("--processes", type=int, default=2, help="process slots per worker")
    ap.add_argument("--async-per-child", type=int, default=1000)
    ap.add_argument("--within", type=float, default=600.0, help="the longest any phase waits")
    args = ap.parse_args()
    log = Path(tempfile.gettempdir()) / f"tw_sleepers_{uuid.uuid4().hex[:8]}.log"
    figures: dict[str, Any] = {"args": vars(args)}
    with database() as db:
        url = f"postgresql://postgres@127.0.0.1:5432/{db}"
        dsn = f"host=127.0.0.1 port=5432 user=postgres dbname={db}"
        c = Cluster(
            url, "redis://127.0.0.1:6379/0", f"sleepers:{uuid.uuid4().hex[:6]}", log_level="warning"
        )
        b = scenarios.Bench(c, dsn)
        try:
            c.start_coordinator()
            common = {"type": "python", "retries": 0, "concurrency": 100_000, "on_overlap": "allow"}
            c.create_job(
                name="sleepers",
                function="benchjobs.sleeper",
                parameters={"seconds": args.sleep, "log": str(log)},
                timeout=args.sleep * 10,
                **common,
            )
            c.create_job(
                name="sleeper-timeout",
                function="benchjobs.sleeper",
                parameters={"seconds": 600, "log": os.devnull},
                timeout=5,
                **{**common, "priority": 100},  # claimed before the sleepers
            )
            for _ in range(2):
                c.start_worker(
                    concurrency=args.concurrency,
                    extra=[
                        "--processes",
                        str(args.processes),
                        "--async-per-child",
                        str(args.async_per_child),
                        "--path",
                        str(JOBS),
                        "--log-level",
                        "warning",
                    ],
                )
            figures["idle_memory"] = memory([p.pid for p in c.workers])
            job_id = b.job_id("sleepers")
            started = time.monotonic()
            timed = c.trigger("sleeper-timeout")  # times out 5 s on, as the sleepers pile in
            figures["enqueue_rate"] = scenarios.bulk_enqueue(b, "sleepers", args.runs, "s")
            figures["load"] = watch_peak(b, job_id, args.runs, args.within)
            figures["cancel_s"] = cancel_latency(b, job_id)
            figures["timeout_late_s"] = timeout_lateness(b, timed, 5.0)
            wait_until(
                lambda: running(b, job_id) == 0 and b.count("sleepers", "queued") == 0,
                timeout=args.within,
                every=1.0,
                what="all sleepers to finish",
            )
            figures["all_done_s"] = time.monotonic() - started
            figures["outcome"] = outcome(b, job_id, log)
        finally:
            c.close()
            log.unlink(missing_ok=True)
            sys.stdout.write(report(figures) + "\n")


def report(f: dict[str, Any]) -> str:
    lines = [f"sleepers: {f['args']}"]
    if "load" in f:
        load, mem = f["load"], f["load"]["memory"]
        lines += [
            f"  running at once (peak): {load['peak']}, "
            f"{load['reached_after']:.1f}s after the enqueue returned",
            f"  workers + children at the peak: RSS {mem.get('rss', 0):.0f} MiB, "
            f"USS {mem.get('uss', 0):.0f} MiB over {mem.get('processes', 0)} processes "
            f"(idle: RSS {f['idle_memory']['rss']:.0f}, USS {f['idle_memory']['uss']:.0f} MiB); "
            f"coordinator RSS {mem.get('coordinator', 0):.0f} MiB",
        ]
    if "cancel_s" in f:
        lines.append(f"  cancel while loaded: {f['cancel_s'] * 1000:.0f} ms to cancelled")
    if "timeout_late_s" in f:
        late = f["timeout_late_s"] * 1000
        lines.append(f"  5 s timeout while loaded: ended {late:.0f} ms after claim + 5 s")
    if "outcome" in f:
        o = f["outcome"]
        lost = f["args"]["runs"] - o.get("status_completed", 0) - o.get("status_cancelled", 0)
        lines.append(
            f"  outcome: {o} -> lost {lost}, doubled {o['doubled']}; "
            f"all done after {f['all_done_s']:.0f}s"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
