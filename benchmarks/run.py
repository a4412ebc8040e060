"""`make bench`: tickwork end to end on PostgreSQL + Redis, beside a raw SKIP LOCKED loop.

Prints, from one run on this machine (everything on 127.0.0.1; stops by itself; the benchmark
database is dropped):
  - the raw claim-and-complete loop on the same database: the yardstick for the ratios;
  - single-call triggers from 32 concurrent clients, and bulk enqueue (no workers claiming);
  - N no-op python runs and N `true` shell runs drained by 2 real workers, with the CPU each
    process group used per run and the rows PostgreSQL wrote per run (pg_stat_user_tables);
  - latency of one triggered run on idle workers, a concurrency-1 job back to back, how late a
    retry starts after its due time, the fire lag of 1,000 jobs due in the same second, and
    10,000 jobs on `* * * * *` at the top of a minute: written ahead, drained by the workers.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from tests.integration.harness import Cluster

from benchmarks import raw, scenarios
from benchmarks.measure import (
    BENCH_APP,
    CpuMeter,
    Writes,
    pids_of,
    postgres_pids,
    server_settings,
    statements_reset,
    table_writes,
    top_statements,
)
from tickwork.config import Settings
from tickwork.service.container import Container

ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
JOBS = Path(__file__).resolve().parent / "jobs"
NOOP = {"type": "python", "function": "benchjobs.noop"}
SCENARIOS = (
    "raw",
    "trigger",
    "bulk",
    "python",
    "shell",
    "idle",
    "serial",
    "retry",
    "fire",
    "scoped",
    "minute",
)


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


def run_path_meter(b: scenarios.Bench) -> CpuMeter:
    """CPU of each process group on the run path, PostgreSQL's split three ways."""
    return CpuMeter(
        {
            "coordinator": lambda: [p.pid for p in b.c.coordinators],
            "workers": lambda: [p.pid for p in b.c.workers],
            "postgres": postgres_pids(ADMIN, b.figures["db"], "backends"),
            "autovacuum": postgres_pids(ADMIN, b.figures["db"], "autovacuum"),
            "pg server": postgres_pids(ADMIN, b.figures["db"], "server"),
            "redis": pids_of("redis-server"),
        }
    )


class RunPathMeter:
    """CPU per process group and rows written per table between ``start`` and ``stop``,
    stored per run under ``b.figures[key]`` (the drain lines print them)."""

    def __init__(self, b: scenarios.Bench, key: str, n: int) -> None:
        self.b, self.key, self.n = b, key, n
        self.cpu = run_path_meter(b)

    def start(self) -> None:
        if self.b.figures.get("statements"):
            statements_reset(self.b.dsn)
        self.before = table_writes(self.b.dsn)
        self.cpu.start()

    def stop(self) -> None:
        cpu = self.cpu.stop()
        writes = table_writes(self.b.dsn).minus(self.before)
        found = self.b.figures.setdefault(self.key, {})
        found.update(cpu={k: v / self.n for k, v in cpu.items()}, writes=writes)
        if self.b.figures.get("statements"):
            found["statements"] = top_statements(self.b.dsn, self.n)


def drain_measured(b: scenarios.Bench, job: str, n: int, key: str) -> None:
    """Enqueue n runs while the workers run, and drain them: rate, CPU and rows per run."""
    meter = RunPathMeter(b, key, n)
    meter.start()
    scenarios.bulk_enqueue(b, job, n, key)
    b.figures[key] = {"rate": scenarios.drain(b, job, n)}
    meter.stop()


def scoped_drain(b: scenarios.Bench, args: argparse.Namespace, env: dict[str, str]) -> None:
    """The python drain again, by workers whose token holds them to one namespace: what
    namespaces cost on the run path (the claim's namespace filter and its index)."""
    for worker in b.c.workers:
        worker.stop()
    b.c.workers.clear()
    for _ in range(2):
        b.c.start_worker(
            concurrency=args.concurrency,
            extra=["--path", str(JOBS), "--log-level", "warning"],
            env=env,
        )
    # fresh workers fork and import on their first runs: warm them as the others were
    warm = min(1000, args.runs)
    scenarios.bulk_enqueue(b, "py-noop-warm", warm, "warm")
    scenarios.drain(b, "py-noop-warm", warm)
    drain_measured(b, "py-noop-scoped", args.runs, "scoped")


def triggers_measured(b: scenarios.Bench, job: str) -> None:
    """Single-call triggers from 32 clients, with the CPU each group spent per trigger (the
    bench client's own included, since it shares the machine)."""
    meter = CpuMeter(
        {
            "coordinator": lambda: [p.pid for p in b.c.coordinators],
            "postgres": postgres_pids(ADMIN, b.figures["db"]),
            "redis": pids_of("redis-server"),
        }
    )
    before = table_writes(b.dsn)
    meter.start()
    mine = time.process_time()  # the client's own: the coordinator is a child of this process
    scenarios.triggers(b, job)
    cpu = meter.stop()
    cpu["client"] = time.process_time() - mine
    n = b.figures["trigger"]["n"]
    b.figures["trigger"]["cpu"] = {k: v / n for k, v in cpu.items()}
    b.figures["trigger"]["writes"] = table_writes(b.dsn).minus(before)


async def make_tokens(url: str) -> dict[str, str]:
    """An admin token for the bench client and a worker token for the workers."""
    container = Container(Settings(database_url=url))
    await container.start(background=False)
    try:
        made = {
            role: (await container.tokens.create(name=f"bench-{role}", role=role))[1]
            for role in ("admin", "worker")
        }
        scoped = {"default": "worker"}  # a team's worker: claims only its namespace's runs
        made["scoped"] = (await container.tokens.create(name="bench-scoped", scopes=scoped))[1]
        return made
    finally:
        await container.stop()


def setup(b: scenarios.Bench) -> None:
    c = b.c
    common = {"retries": 0, "concurrency": 100_000, "on_overlap": "allow"}
    c.create_job(name="py-noop", **NOOP, **common)
    c.create_job(name="py-noop-scoped", **NOOP, **common)
    c.create_job(name="py-noop-warm", **NOOP, **common)
    c.create_job(name="sh-true", type="shell", command="true", **common)
    c.create_job(name="trig", **NOOP, **{**common, "worker_tags": ["bench-enqueue-only"]})
    c.create_job(name="bulk", **NOOP, **{**common, "worker_tags": ["bench-enqueue-only"]})
    c.create_job(name="idle", **NOOP, **common)
    c.create_job(name="serial", **NOOP, retries=0, concurrency=1, on_overlap="queue")
    c.create_job(
        name="retry",
        type="python",
        function="benchjobs.fail_first",
        retries=1,
        retry_delay=1,
        backoff="fixed",
        concurrency=100,
        on_overlap="allow",
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=10_000)
    ap.add_argument("--fire", type=int, default=1_000)
    ap.add_argument("--concurrency", type=int, default=32, help="slots per worker")
    ap.add_argument("--minute", type=int, default=10_000, help="jobs on * * * * * (minute)")
    ap.add_argument(
        "--schedule-ahead", type=float, default=None, help="the coordinator's schedule_ahead"
    )
    ap.add_argument(
        "--open", action="store_true", help="no authentication (default: tokens, as in production)"
    )
    ap.add_argument(
        "--statements",
        action="store_true",
        help="the costliest statements of each drain (needs pg_stat_statements preloaded)",
    )
    ap.add_argument(
        "--only",
        nargs="+",
        choices=SCENARIOS,
        default=list(SCENARIOS),
        help="run only these scenarios (the machine is shared: measure what changed)",
    )
    args = ap.parse_args()
    only = set(args.only)
    with database() as db:
        dsn = f"host=127.0.0.1 port=5432 user=postgres dbname={db} application_name={BENCH_APP}"
        raw_rate = raw.measure(dsn, args.runs) if "raw" in only else 0.0
        url = f"postgresql://postgres@127.0.0.1:5432/{db}"
        c = Cluster(
            url,
            "redis://127.0.0.1:6379/0",
            f"bench:{uuid.uuid4().hex[:6]}",
            log_level="warning",
            auth=not args.open,
            schedule_ahead=args.schedule_ahead,
        )
        b = scenarios.Bench(c, dsn, {"db": db, "raw": raw_rate, **server_settings(dsn)})
        b.figures["statements"] = args.statements and statements_reset(dsn)
        worker_env: dict[str, str] = {}
        try:
            c.start_coordinator()
            if not args.open:
                tokens = asyncio.run(make_tokens(url))
                c.http.headers["Authorization"] = f"Bearer {tokens['admin']}"
                b.token = tokens["admin"]
                worker_env["TICKWORK_TOKEN"] = tokens["worker"]
            setup(b)
            if "trigger" in only:
                triggers_measured(b, "trig")
            if "bulk" in only:
                b.figures["bulk"] = scenarios.bulk_enqueue(b, "bulk", args.runs, "k")
            for _ in range(2):
                c.start_worker(
                    concurrency=args.concurrency,
                    extra=["--path", str(JOBS), "--log-level", "warning"],
                    env=worker_env,
                )
            with_workers(b, args, only)
            if "scoped" in only and not args.open:
                scoped_drain(b, args, {**worker_env, "TICKWORK_TOKEN": tokens["scoped"]})
        finally:
            c.close()
            sys.stdout.write(report(b.figures, args) + "\n")  # what was measured, even so


def with_workers(b: scenarios.Bench, args: argparse.Namespace, only: set[str]) -> None:
    """The scenarios the two workers serve, in their order."""
    if "python" in only:
        drain_measured(b, "py-noop", args.runs, "python")
    if "shell" in only:
        drain_measured(b, "sh-true", args.runs, "shell")
    if "idle" in only:
        scenarios.idle_latency(b, "idle")
    if "serial" in only:
        scenarios.serial(b, "serial", 1000)
    if "retry" in only:
        scenarios.retry_precision(b, "retry")
    if "fire" in only:
        scenarios.fire_lag(b, args.fire)
    if "minute" in only:
        scenarios.top_of_minute(b, args.minute, RunPathMeter(b, "minute-cost", args.minute))


def _of_raw(rate: float, raw_rate: float) -> str:
    return f"({rate / raw_rate:.2f} of raw)" if raw_rate else ""


def _drain_lines(name: str, f: dict[str, Any], raw_rate: float) -> list[str]:
    cpu, n = f["cpu"], f["n"]
    w: Writes = f["writes"]
    tables = ", ".join(f"{t} {rows / n:.2f}" for t, rows in sorted(w.rows.items()))
    hot = sum(w.hot.values()) / max(sum(w.updates.values()), 1)
    return [
        f"  {name:<36}: {f['rate']:8.0f} runs/s   {_of_raw(f['rate'], raw_rate)}",
        f"      CPU per run {sum(cpu.values()) * 1000:.2f} ms: "
        + ", ".join(f"{k} {v * 1000:.2f}" for k, v in cpu.items()),
        f"      rows written per run {w.total() / n:.2f} ({tables}); {hot:.0%} of updates HOT",
        *(f"      {line}" for line in f.get("statements", [])),
    ]


def report(fig: dict[str, Any], args: argparse.Namespace) -> str:
    """The figures measured, one line (or three) per scenario."""
    raw_rate = fig["raw"]
    lines = [
        f"tickwork bench — {args.runs} runs, 2 workers x {args.concurrency} slots, "
        f"PostgreSQL + Redis, {'no auth' if args.open else 'auth on'}, this machine "
        f"({datetime.now(UTC):%Y-%m-%d %H:%M} UTC)",
        f"  PostgreSQL {fig.get('server_version', '?')}, autovacuum {fig.get('autovacuum', '?')}"
        + (
            " (no ANALYZE or VACUUM comes by itself: plans and dead rows as a server "
            "configured so keeps them)"
            if fig.get("autovacuum") == "off"
            else ""
        ),
    ]
    if args.statements and not fig.get("statements"):
        lines.append(
            "  --statements: this server has not preloaded pg_stat_statements "
            "(shared_preload_libraries, then a restart)"
        )
    if raw_rate:
        lines.append(f"  raw SKIP LOCKED claim+complete loop : {raw_rate:8.0f} runs/s   (1.00)")
    if t := fig.get("trigger"):
        lines.append(
            f"  single-call trigger, {t['clients']} clients      : {t['rate']:8.0f} runs/s   "
            f"p50 {t['p50'] * 1000:.1f} ms, p99 {t['p99'] * 1000:.1f} ms ({t['n']} calls)"
        )
        if cpu := t.get("cpu"):
            w: Writes = t["writes"]
            tables = ", ".join(f"{k} {v / t['n']:.2f}" for k, v in sorted(w.rows.items()) if v)
            lines.append(
                f"      CPU per trigger {sum(cpu.values()) * 1000:.2f} ms: "
                + ", ".join(f"{k} {v * 1000:.2f}" for k, v in cpu.items())
                + f"; rows written per trigger {w.total() / t['n']:.2f} ({tables})"
            )
    if "bulk" in fig:
        lines.append(f"  bulk enqueue (POST /api/runs/bulk)  : {fig['bulk']:8.0f} runs/s")
    for key, name in (
        ("python", "python no-op, enqueued and drained"),
        ("shell", "shell `true`, enqueued and drained"),
        ("scoped", "python no-op, namespace-scoped workers"),
    ):
        if key in fig:
            fig[key]["n"] = args.runs
            lines += _drain_lines(name, fig[key], raw_rate)
    if "scoped" in fig and "python" in fig:
        cpu = sum(fig["scoped"]["cpu"].values()) / sum(fig["python"]["cpu"].values())
        rate = fig["scoped"]["rate"] / fig["python"]["rate"]
        lines.append(
            f"      scoped / unscoped: rate {rate:.2f}, CPU per run {cpu:.2f} "
            "(the cost of namespaces on the run path)"
        )
    if idle := fig.get("idle"):
        lines.append(
            f"  idle worker, one run at a time      : queued→started p50 "
            f"{idle['start_p50'] * 1000:.1f} ms (p99 {idle['start_p99'] * 1000:.1f}), "
            f"queued→claimed p50 {idle['claim_p50'] * 1000:.1f} ms, "
            f"queued→finished p50 {idle['done_p50'] * 1000:.1f} ms"
        )
    if "serial" in fig:
        serial = fig["serial"]
        lines.append(
            f"  concurrency-1 job, back to back     : {serial['rate']:8.0f} runs/s   "
            f"claimed→finished p50 {serial['held_p50'] * 1000:.1f} ms, "
            f"finished→next claimed p50 {serial['gap_p50'] * 1000:.1f} ms"
        )
    if "retry" in fig:
        lines.append(
            f"  retry due after 1 s, started late by: p50 {fig['retry']['p50'] * 1000:.0f} ms, "
            f"max {fig['retry']['max'] * 1000:.0f} ms"
        )
    return "\n".join(lines + _schedule_lines(fig))


def _schedule_lines(fig: dict[str, Any]) -> list[str]:
    """The scheduler's lines: the top of a minute and the fire lag."""
    lines = []
    if minute := fig.get("minute"):
        lines.append(
            f"  top of the minute, {minute['n']} jobs   : {minute['before']} runs committed "
            f"before it; drained {minute['rate']:6.0f} runs/s (first claimed "
            f"{minute['first'] * 1000:.0f} ms after the minute, all done after "
            f"{minute['all']:.1f} s)"
        )
        if cost := fig.get("minute-cost"):
            lines += _drain_lines("", {**cost, "n": minute["n"], "rate": minute["rate"]}, 0)[1:]
    if fire := fig.get("fire"):
        lines.append(
            f"  fire lag, {fire['n']} jobs due in one second: p50 {fire['p50'] * 1000:.0f} ms, "
            f"p99 {fire['p99'] * 1000:.0f} ms, max {fire['max'] * 1000:.0f} ms; all visible "
            + (
                f"{fire['visible'] * 1000:.0f} ms after their time"
                if fire["visible"] >= 0
                else f"{-fire['visible']:.1f} s before their time (written ahead)"
            )
        )
    return lines


if __name__ == "__main__":
    main()
