"""`tickwork bench`: measure a deployment the way `make bench` measures tickwork.

Queues N runs of a no-op job (``tickwork.builtin.noop``) in bulk, lets the connected workers
drain them, and prints runs per second, latency percentiles from the times the coordinator
recorded (queued → started, queued → finished) and, where this machine can see it, CPU per
run: the coordinator's from its ``/metrics`` (``process_cpu_seconds_total``), and each worker
that runs on this host, with its children, from ``/proc``.
"""

from __future__ import annotations

import math
import os
import socket
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer

from tickwork.cli.common import (
    EXIT_BAD_INPUT,
    JsonOpt,
    ServerOpt,
    TokenOpt,
    err,
    fail,
    out,
    print_json,
    session,
)
from tickwork.client import ApiError, Client, NotFoundError
from tickwork.schemas.runs import RunOut
from tickwork.schemas.workers import WorkerOut

__all__ = ["NOOP", "bench", "percentile"]

NOOP = "tickwork.builtin.noop"
BULK = 5000
"""Runs queued per request."""
POLL = 0.25
"""Seconds between progress checks while the runs drain."""
FINISHED = ("completed", "failed", "cancelled", "missed")


def bench(
    runs: Annotated[int, typer.Option("--runs", "-n", help="No-op runs to queue.")] = 1000,
    tags: Annotated[
        str, typer.Option(help="Worker tags the runs go to (comma-separated).")
    ] = "default",
    job: Annotated[
        str, typer.Option(help="Name of the bench's job (made, then deleted).")
    ] = "tickwork-bench",
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the runs to drain.")] = 600,
    keep: Annotated[bool, typer.Option(help="Keep the job and its runs afterwards.")] = False,
    server: ServerOpt = None,
    token: TokenOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Queue N no-op runs, drain them on the connected workers, print runs/s, latency
    percentiles and CPU per run (needs a token that may create jobs)."""
    if not 1 <= runs <= 1_000_000:
        fail(f"--runs must be between 1 and 1000000 (got {runs})", EXIT_BAD_INPUT)
    if timeout <= 0:
        fail(f"--timeout must be positive (got {timeout:g})", EXIT_BAD_INPUT)
    wanted = [t.strip() for t in tags.split(",") if t.strip()] or ["default"]
    with session(server, token) as client:
        workers = [
            w for w in client.list_workers() if w.status == "online" and set(wanted) <= set(w.tags)
        ]
        if not workers:
            fail(
                f"no online worker serves the tags {', '.join(wanted)}: start one "
                f"(tickwork worker --tags {','.join(wanted)}) or pass --tags"
            )
        _prepare(client, job, wanted)
        try:
            figures = _measure(client, job, runs, workers, timeout)
        finally:
            if not keep:
                client.delete_job(job, force=True)
    if json_:
        print_json(figures)
    else:
        out().print(render(figures), soft_wrap=True)


def _prepare(client: Client, name: str, tags: list[str]) -> None:
    """Make the bench's job, or reuse one a previous bench left (never a job of the user's)."""
    spec: dict[str, Any] = {
        "name": name,
        "type": "python",
        "function": NOOP,
        "worker_tags": tags,
        "retries": 0,
        "concurrency": 100_000,
        "on_overlap": "allow",
        "timeout": 60,
    }
    try:
        existing = client.get_job(name)
    except NotFoundError:
        client.create_job(spec)
        return
    if existing.function != NOOP:
        fail(f"a job named {name!r} exists and is not a bench job: pass --job another name")
    client.replace_job(name, spec)


def _measure(
    client: Client, job: str, n: int, workers: list[WorkerOut], timeout: float
) -> dict[str, Any]:
    prefix = f"bench-{uuid.uuid4().hex[:8]}-"
    since = datetime.now(UTC) - timedelta(seconds=1)
    before = _finished(client, job, since)  # a kept job's runs of an earlier bench
    cpu = CpuProbe(client, workers)
    cpu.start()
    began = time.monotonic()
    for offset in range(0, n, BULK):
        client.bulk_trigger(
            [
                {"job": job, "idempotency_key": f"{prefix}{i}"}
                for i in range(offset, min(n, offset + BULK))
            ]
        )
    enqueued = time.monotonic() - began
    _wait_drained(client, job, before + n, since, began + timeout)
    used = cpu.stop()
    mine = [
        r
        for r in client.iter_runs(job=job, since=since, page_size=500)
        if r.idempotency_key.startswith(prefix)
    ]
    return figures(mine, n, enqueued, used, len(workers), sum(w.concurrency for w in workers))


def _finished(client: Client, job: str, since: datetime) -> int:
    return sum(
        client.list_runs(job=job, status=status, since=since, limit=1).total for status in FINISHED
    )


def _wait_drained(client: Client, job: str, n: int, since: datetime, deadline: float) -> None:
    """Until ``n`` runs of ``job`` queued since ``since`` have finished."""
    console = err()
    while (done := _finished(client, job, since)) < n:
        if time.monotonic() > deadline:
            fail(f"only {done} of {n} runs finished in time (raise --timeout?)")
        console.print(f"\r{done}/{n} runs finished", end="")
        time.sleep(POLL)


def figures(
    runs: Sequence[RunOut],
    n: int,
    enqueued: float,
    cpu: dict[str, float],
    workers: int,
    slots: int,
) -> dict[str, Any]:
    """What the bench prints, from the runs as the coordinator recorded them."""
    times = [
        (r.queued_at, r.started_at, r.finished_at)
        for r in runs
        if r.started_at is not None and r.finished_at is not None
    ]
    to_start = [(s - q).total_seconds() for q, s, _ in times]
    to_end = [(f - q).total_seconds() for q, _, f in times]
    span = 0.0
    if times:
        span = (max(f for _, _, f in times) - min(q for q, _, _ in times)).total_seconds()
    return {
        "runs": n,
        "completed": sum(r.status == "completed" for r in runs),
        "workers": workers,
        "slots": slots,
        "enqueue_seconds": enqueued,
        "drain_seconds": span,
        "runs_per_second": len(times) / span if span > 0 else None,
        "queued_to_started": _percentiles(to_start),
        "queued_to_finished": _percentiles(to_end),
        "cpu_ms_per_run": {k: v / n * 1000 for k, v in cpu.items()},
    }


def _percentiles(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    return {f"p{q}": percentile(values, q / 100) for q in (50, 90, 99)} | {"max": max(values)}


def percentile(values: Sequence[float], q: float) -> float:
    """The nearest-rank percentile (``q`` in 0..1)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def render(f: dict[str, Any]) -> str:
    lines = [
        f"tickwork bench: {f['runs']} no-op runs on {f['workers']} workers "
        f"({f['slots']} slots), {f['completed']} completed",
        f"  queued in            {f['enqueue_seconds']:.2f} s",
    ]
    if f["runs_per_second"] is not None:
        lines.append(
            f"  drained              {f['runs_per_second']:.0f} runs/s "
            f"({f['drain_seconds']:.2f} s from the first queued to the last finished)"
        )
    for key, label in (
        ("queued_to_started", "queued → started"),
        ("queued_to_finished", "queued → finished"),
    ):
        p = f[key]
        if p is not None:
            lines.append(
                f"  {label:<20} p50 {_ms(p['p50'])}, p90 {_ms(p['p90'])}, "
                f"p99 {_ms(p['p99'])}, max {_ms(p['max'])}"
            )
    cpu = f["cpu_ms_per_run"]
    if cpu:
        parts = ", ".join(f"{k} {v:.2f} ms" for k, v in cpu.items())
        lines.append(f"  CPU per run          {parts}")
    else:
        lines.append("  CPU per run          not visible from here (no /metrics, no local workers)")
    return "\n".join(lines)


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


class CpuProbe:
    """CPU seconds used between ``start`` and ``stop``: the coordinator's (from /metrics, if
    it answers) and the workers' on this host with their children (from /proc)."""

    def __init__(self, client: Client, workers: list[WorkerOut]) -> None:
        host = socket.gethostname()
        local = [w.pid for w in workers if w.hostname == host and _alive(w.pid)]
        self._readers: dict[str, Callable[[], float | None]] = {
            "coordinator": lambda: _coordinator_cpu(client),
        }
        if local:
            self._readers["workers"] = lambda: _tree_cpu(local)
        self._before: dict[str, float] = {}

    def start(self) -> None:
        self._before = {k: v for k, read in self._readers.items() if (v := read()) is not None}

    def stop(self) -> dict[str, float]:
        after = {k: self._readers[k]() for k in self._before}
        return {k: v - self._before[k] for k, v in after.items() if v is not None}


def _coordinator_cpu(client: Client) -> float | None:
    try:
        text = client.metrics()
    except ApiError:
        return None
    for line in text.splitlines():
        if line.startswith("process_cpu_seconds_total "):
            return float(line.split()[1])
    return None


def _alive(pid: int) -> bool:
    return Path(f"/proc/{pid}/stat").exists()


def _tree_cpu(roots: list[int]) -> float | None:
    """CPU seconds of these processes and every descendant (reaped children included)."""
    procs: dict[int, tuple[int, float]] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        procs[int(entry)] = (int(fields[1]), sum(int(x) for x in fields[11:15]) / tick)
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in procs.items():
        children.setdefault(ppid, []).append(pid)
    seen: set[int] = set()
    pending = [p for p in roots if p in procs]
    if not pending:
        return None
    while pending:
        pid = pending.pop()
        if pid not in seen:
            seen.add(pid)
            pending += children.get(pid, [])
    return sum(procs[p][1] for p in seen)
