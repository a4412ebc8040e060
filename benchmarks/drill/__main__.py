"""`make drill`: two coordinators and two workers on a private PostgreSQL 15 and Redis, three
jobs firing every second; the drill SIGKILLs the leader, then partitions the new leader from
PostgreSQL and Redis, then restarts PostgreSQL, and checks that no tick was missed or
doubled and no run lost or executed twice. Exit status 1 if any invariant fails.

Bounded: about two minutes of faults and a drain of at most a minute; every wait has a
deadline. Run it on a quiet machine for representative timings.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
from tests.integration.harness import wait_until

from benchmarks.drill.stack import Coordinator, Stack
from benchmarks.drill.verdict import RunRow, check_runs, check_ticks

EVERY = timedelta(seconds=1)
JOB_MODULE = '''\
import os


def tick(log, ctx=None):
    """Append this execution's run id to the log (O_APPEND: one line per write)."""
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, f"{ctx.run_id} {ctx.attempt} python\\n".encode())
    finally:
        os.close(fd)
'''


class Drill:
    def __init__(self, stack: Stack, catchup: str) -> None:
        self.stack = stack
        self.catchup = catchup
        self.t0 = time.monotonic()
        self.log = stack.work / "executions.log"
        self.http = httpx.Client(base_url=stack.lb_url, timeout=30)
        self.first: dict[str, datetime] = {}
        self.figures: list[tuple[str, str]] = []

    def say(self, text: str) -> None:
        print(f"[{time.monotonic() - self.t0:6.1f}s] {text}", flush=True)

    def create_jobs(self) -> None:
        (self.stack.work / "drilljobs.py").write_text(JOB_MODULE)
        common = {"schedule": "1s", "catchup": self.catchup, "on_overlap": "allow",
                  "concurrency": 100, "timeout": 30}  # fmt: skip
        bodies: list[dict[str, Any]] = [
            {"name": f"drill-py-{i}", "type": "python", "function": "drilljobs.tick",
             "parameters": {"log": str(self.log)}, **common}
            for i in (1, 2)
        ]  # fmt: skip
        bodies.append(
            {"name": "drill-sh", "type": "shell", **common,
             "command": f'echo "$TICKWORK_RUN_ID $TICKWORK_ATTEMPT shell" >> {self.log}'}
        )  # fmt: skip
        for body in bodies:
            r = self.http.post("/api/jobs", json=body)
            r.raise_for_status()
            self.first[body["name"]] = datetime.fromisoformat(r.json()["next_run"])
        self.say(f"created {len(bodies)} jobs firing every second: {', '.join(self.first)}")

    def wait(self, seconds: float, why: str) -> None:
        self.say(f"{why}: {seconds:.0f}s")
        time.sleep(seconds)

    def leader(self) -> Coordinator:
        return self.stack.wait_leader(other_than=None, timeout=60)

    def kill_leader(self) -> None:
        old = self.leader()
        assert old.proc is not None
        self.say(f"fault 1: SIGKILL the leader {old.name} (pid {old.proc.pid})")
        start = time.monotonic()
        old.proc.signal(signal.SIGKILL)
        new = self.stack.wait_leader(other_than=old)
        took = time.monotonic() - start
        self.say(f"  new leader {new.name} after {took:.1f}s")
        self.figures.append(("SIGKILL of the leader: time to a new leader", f"{took:.1f} s"))
        old.proc.popen.wait(10)
        old.start()
        self.say(f"  {old.name} restarted (a follower now)")

    def partition_leader(self, hold: float) -> None:
        old = self.leader()
        self.say(f"fault 2: partition the leader {old.name} from PostgreSQL and Redis")
        start = time.monotonic()
        old.pg.cut()
        old.redis.cut()
        new = self.stack.wait_leader(other_than=old)
        took = time.monotonic() - start
        self.say(f"  new leader {new.name} after {took:.1f}s; the partition holds {hold:.0f}s")
        self.figures.append(("partition of the leader: time to a new leader", f"{took:.1f} s"))
        time.sleep(hold)
        old.pg.heal()
        old.redis.heal()
        wait_until(lambda: old.health() is not None, timeout=60, what=f"{old.name} back")
        both = [c.name for c in self.stack.coordinators if c.is_leader()]
        self.say(f"  healed; leaders now: {', '.join(both) or 'none'}")

    def restart_postgres(self, down_for: float) -> None:
        pg = self.stack.pg
        assert pg is not None
        before = self.leader()
        self.say(f"fault 3: restart PostgreSQL (fast shutdown, {down_for:.0f}s down, start)")
        start = time.monotonic()
        stamp = datetime.now(UTC)
        pg.stop()
        time.sleep(down_for)
        pg.start()
        up = time.monotonic()
        self.say(f"  PostgreSQL back after {up - start:.1f}s")
        wait_until(lambda: self._runs_since(stamp, up), timeout=60, every=0.1, what="new runs")
        resumed = time.monotonic() - up
        after = self.leader()
        took = time.monotonic() - start
        self.say(
            f"  leader {after.name} ({'unchanged' if after is before else 'changed'}); "
            f"runs created again {resumed:.1f}s after PostgreSQL was back"
        )
        self.figures.append(("PostgreSQL restart: leader after it", f"{after.name}, {took:.1f} s"))
        self.figures.append(("PostgreSQL restart: outage", f"{up - start:.1f} s"))

    def _runs_since(self, stamp: datetime, _up: float) -> bool:
        try:
            with psycopg.connect(self.stack.dsn, connect_timeout=2) as conn:
                row = conn.execute(
                    "SELECT count(*) FROM runs WHERE queued_at > %s", (stamp,)
                ).fetchone()
        except psycopg.OperationalError:
            return False
        return bool(row and row[0] > 0)

    def pause_and_drain(self) -> datetime:
        until = datetime.now(UTC) - timedelta(seconds=2)
        for name in self.first:
            self.http.post(f"/api/jobs/{name}/pause").raise_for_status()
        self.say("paused the jobs; waiting for every run to finish")
        wait_until(self._drained, timeout=60, every=0.25, what="the runs to finish")
        return until

    def _drained(self) -> bool:
        with psycopg.connect(self.stack.dsn) as conn:
            row = conn.execute(
                "SELECT count(*) FROM runs WHERE status IN ('queued', 'running')"
            ).fetchone()
        return bool(row and row[0] == 0)

    def rows(self) -> list[RunRow]:
        with psycopg.connect(self.stack.dsn) as conn:
            found = conn.execute(
                "SELECT j.name, r.id, r.scheduled_for, r.status FROM runs r "
                "JOIN jobs j ON j.id = r.job_id WHERE r.trigger = 'schedule'"
            ).fetchall()
        return [RunRow(n, i, s.astimezone(UTC), st) for n, i, s, st in found]

    def delays(self) -> tuple[float, float]:
        """The longest a tick waited for its run to be created, and to start (seconds)."""
        with psycopg.connect(self.stack.dsn) as conn:
            row = conn.execute(
                "SELECT max(extract(epoch FROM queued_at - scheduled_for)), "
                "max(extract(epoch FROM started_at - scheduled_for)) FROM runs "
                "WHERE trigger = 'schedule'"
            ).fetchone()
        return (float(row[0] or 0), float(row[1] or 0)) if row else (0.0, 0.0)

    def skipped_ticks(self) -> int:
        """Ticks the scheduler recorded as skipped (``run.skipped`` events, alone in their
        row or inside a batch row; one may stand for ``count`` earlier ticks)."""
        with psycopg.connect(self.stack.dsn) as conn:
            rows = conn.execute(
                "SELECT type, count, data FROM events WHERE type IN ('run.skipped', 'batch') "
                "OR (count > 1 AND type = 'run.skipped')"
            ).fetchall()
        found = []
        for type_, count, data in rows:
            if count == 1:
                found += [data] if type_ == "run.skipped" else []
            else:
                found += [e["data"] for e in data if e["type"] == "run.skipped"]
        return sum(int(d.get("count", 1)) for d in found)

    def report(self, until: datetime) -> bool:
        runs = self.rows()
        executions = [line.split()[0] for line in self.log.read_text().splitlines() if line]
        print()
        print(f"{'job':<12} {'ticks due':>9} {'runs':>6} {'missed':>7} {'doubled':>8} {'off':>4}")
        ok = True
        for job, first in self.first.items():
            v = check_ticks(job, runs, first=first, every=EVERY, until=until)
            mine = sum(1 for r in runs if r.job == job)
            print(
                f"{job:<12} {v.expected:>9} {mine:>6} {len(v.missed):>7} "
                f"{len(v.doubled):>8} {len(v.off_schedule):>4}"
            )
            ok = ok and v.ok
            for t in v.missed[:5]:
                print(f"  missed {t.isoformat()}")
        verdict = check_runs(runs, executions)
        skipped = self.skipped_ticks()
        print(
            f"\nruns: {verdict.runs} scheduled, {verdict.runs - len(verdict.lost)} completed, "
            f"lost {len(verdict.lost)}, executed twice {len(verdict.doubled)}, "
            f"completed without an execution {len(verdict.unexecuted)}, "
            f"executions of unknown runs {len(verdict.unknown)}; executions logged "
            f"{len(executions)}; ticks the scheduler recorded as skipped {skipped}"
        )
        for run_id, status in list(verdict.lost.items())[:5]:
            print(f"  lost {run_id}: {status}")
        for run_id, n in list(verdict.doubled.items())[:5]:
            print(f"  executed {n} times: {run_id}")
        created, started = self.delays()
        self.figures.append(("longest a tick waited for its run: created", f"{created:.1f} s"))
        self.figures.append(("longest a tick waited for its run: started", f"{started:.1f} s"))
        print()
        for what, figure in self.figures:
            print(f"{what:<50} {figure}")
        ok = ok and verdict.ok and skipped == 0
        print(f"\ninvariants: {'ok' if ok else 'FAILED'}")
        return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--settle", type=float, default=10, help="Seconds between faults.")
    parser.add_argument("--hold", type=float, default=15, help="Seconds the partition lasts.")
    parser.add_argument("--pg-down", type=float, default=5, help="Seconds PostgreSQL stays down.")
    parser.add_argument(
        "--catchup",
        default="all",
        choices=["all", "latest", "none"],
        help="The jobs' catch-up policy: with 'latest' or 'none' the ticks a failover delays "
        "past the misfire grace are folded or skipped, and the drill must say so (exit 1).",
    )
    parser.add_argument("--keep-logs", type=Path, help="Write the processes' logs here.")
    args = parser.parse_args(argv)
    stack = Stack()
    ok = False
    try:
        started = time.monotonic()
        stack.start()
        assert stack.pg is not None and stack.redis is not None
        drill = Drill(stack, args.catchup)
        drill.say(
            f"private PostgreSQL 15 on :{stack.pg.port}, Redis on :{stack.redis.port}, "
            f"{len(stack.coordinators)} coordinators behind a balancer at {stack.lb_url}, "
            f"{len(stack.workers)} workers (started in {time.monotonic() - started:.1f}s)"
        )
        drill.create_jobs()
        drill.wait(args.settle, "warm-up")
        drill.kill_leader()
        drill.wait(args.settle, "settle")
        drill.partition_leader(args.hold)
        drill.wait(args.settle, "settle")
        drill.restart_postgres(args.pg_down)
        drill.wait(args.settle, "settle")
        ok = drill.report(drill.pause_and_drain())
    finally:
        if not ok:
            logs = stack.logs()
            if args.keep_logs:
                args.keep_logs.write_text(logs)
            else:
                print(logs[-20000:], file=sys.stderr)
        stack.close()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
