"""Rich renderings of the API's answers: tables, detail panels, times and statuses."""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from rich.table import Table
from rich.text import Text

from tickwork.schemas.jobs import JobDetailOut, JobOut, dependency_ref
from tickwork.schemas.runs import AttemptOut, DeadLetterOut, RunDetail, RunOut
from tickwork.schemas.workers import WorkerOut

STYLES = {
    "completed": "green",
    "online": "green",
    "ok": "green",
    "failed": "red",
    "lost": "red",
    "running": "cyan",
    "queued": "yellow",
    "missed": "yellow",
    "cancelled": "magenta",
    "paused": "dim",
    "idle": "dim",
    "offline": "dim",
    "skipped": "dim",
    "pending": "dim",
}


def status(value: str | None) -> Text:
    text = value or "-"
    return Text(text, style=STYLES.get(text, ""))


def when(at: datetime | None, now: datetime | None = None) -> str:
    """``2026-05-01 09:00:00Z (in 3h 2m)`` / ``(5m ago)``; ``-`` for none."""
    if at is None:
        return "-"
    now = now or datetime.now(UTC)
    stamp = at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    delta = (at - now).total_seconds()
    rel = f"in {span(delta)}" if delta >= 0 else f"{span(-delta)} ago"
    return f"{stamp} ({rel})"


def span(seconds: float) -> str:
    """``42s``, ``3m 5s``, ``2h 10m``, ``3d 4h``."""
    s = round(seconds)
    for unit, size, sub, subsize in (("d", 86400, "h", 3600), ("h", 3600, "m", 60)):
        if s >= size:
            rest = (s % size) // subsize
            return f"{s // size}{unit} {rest}{sub}" if rest else f"{s // size}{unit}"
    if s >= 60:
        return f"{s // 60}m {s % 60}s" if s % 60 else f"{s // 60}m"
    return f"{s}s"


def seconds(value: float | None) -> str:
    return "-" if value is None else (f"{value:.2f}s" if value < 60 else span(value))


def target(job: JobOut) -> str:
    if job.type == "python":
        return job.function or ""
    if job.type == "shell":
        if isinstance(job.command, list):
            return shlex.join(job.command)
        return job.command or ""
    req = job.request or {}
    return f"{req.get('method', 'GET')} {req.get('url', '')}"


def dependencies(job: JobOut) -> str:
    """``extract, cleanup (on failure)``, and the trigger rule when it is ``any``."""
    shown = [
        ref if on == "success" else f"{ref} (on {on})"
        for ref, on in map(dependency_ref, job.depends_on)
    ]
    if not shown:
        return "-"
    return ", ".join(shown) + ("  [dim]any of them[/]" if job.trigger_rule == "any" else "")


def schedule(job: JobOut) -> str:
    if not job.schedule:
        return "-"
    return job.schedule if job.timezone == "UTC" else f"{job.schedule} ({job.timezone})"


def jobs_table(jobs: Iterable[JobOut]) -> Table:
    table = Table("name", "type", "schedule", "status", "next run", "last run", "tags")
    for job in jobs:
        table.add_row(
            job.name,
            job.type,
            schedule(job),
            status(job.status),
            when(job.next_run),
            when(job.last_run_at),
            ", ".join(job.tags),
        )
    return table


def job_detail(job: JobDetailOut) -> Table:
    grid = _grid()
    st = job.stats
    rate = "-" if st.success_rate is None else f"{st.success_rate:.0%}"
    rows: list[tuple[str, Any]] = [
        ("name", f"{job.name}  [dim]{job.id}[/]"),
        ("namespace", job.namespace),
        ("status", status(job.status)),
        ("type", job.type),
        ("target", target(job)),
        ("schedule", schedule(job)),
        ("calendar", f"{job.calendar} ({job.calendar_policy})" if job.calendar else "-"),
        ("next run", when(job.next_run)),
        ("depends on", dependencies(job)),
        ("dependents", ", ".join(job.dependents) or "-"),
        ("tags", ", ".join(job.tags) or "-"),
        ("worker tags", ", ".join(job.worker_tags)),
        ("parameters", json.dumps(job.parameters) if job.parameters else "-"),
        ("policy", _policy(job)),
        ("runs", f"{st.total_runs} ({st.completed} ok, {st.failed} failed, {rate} success)"),
        ("avg duration", seconds(st.avg_duration)),
    ]
    for key, value in rows:
        grid.add_row(key, value)
    return grid


def _policy(job: JobOut) -> str:
    return (
        f"timeout {seconds(job.timeout)}, retries {job.retries} ({job.backoff} from "
        f"{seconds(job.retry_delay)}), concurrency {job.concurrency}, overlap {job.on_overlap}, "
        f"catchup {job.catchup}, priority {job.priority}"
    )


def runs_table(runs: Iterable[RunOut]) -> Table:
    table = Table("run", "job", "status", "trigger", "attempt", "queued", "duration", "worker")
    for run in runs:
        table.add_row(
            run.id,
            run.job_name,
            status(run.status),
            run.trigger,
            f"{run.attempt}/{run.max_attempts}",
            when(run.queued_at),
            seconds(run.duration),
            run.worker or "-",
        )
    return table


def run_detail(run: RunDetail) -> Table:
    grid = _grid()
    rows: list[tuple[str, Any]] = [
        ("run", run.id),
        ("job", f"{run.job_name}  [dim]{run.job_id}[/]"),
        ("status", status(run.status)),
        ("trigger", run.trigger),
        ("attempt", f"{run.attempt} of {run.max_attempts}"),
        ("worker", run.worker or "-"),
        ("queued", when(run.queued_at)),
        ("started", when(run.started_at)),
        ("finished", when(run.finished_at)),
        ("duration", seconds(run.duration)),
        ("exit code", "-" if run.exit_code is None else str(run.exit_code)),
        ("parameters", json.dumps(run.parameters) if run.parameters else "-"),
        ("result", "-" if run.result is None else json.dumps(run.result)),
        ("error", Text(run.error or "-", style="red" if run.error else "")),
    ]
    for key, value in rows:
        grid.add_row(key, value)
    return grid


def attempts_table(attempts: Iterable[AttemptOut]) -> Table:
    table = Table("#", "status", "worker", "fence", "started", "duration", "exit", "error")
    for a in attempts:
        table.add_row(
            str(a.number),
            status(a.status),
            a.worker or "-",
            str(a.fence),
            when(a.started_at),
            seconds(a.duration),
            "-" if a.exit_code is None else str(a.exit_code),
            (a.error or "").splitlines()[-1] if a.error else "",
        )
    return table


def workers_table(workers: Iterable[WorkerOut]) -> Table:
    table = Table("worker", "host", "pid", "tags", "slots", "status", "heartbeat", "version")
    for w in workers:
        table.add_row(
            w.id,
            w.hostname,
            str(w.pid),
            ", ".join(w.tags),
            f"{w.active_jobs}/{w.concurrency}",
            status(w.status),
            when(w.last_heartbeat),
            w.version or "-",
        )
    return table


def dead_letters_table(items: Iterable[DeadLetterOut]) -> Table:
    table = Table("id", "run", "job", "attempts", "failed", "error", "resolved", "note")
    for d in items:
        last = (d.error or "").strip().splitlines()
        table.add_row(
            d.id,
            d.run_id,
            d.job_name,
            str(d.attempts),
            when(d.created_at),
            Text(last[-1] if last else "-", style="red"),
            d.resolution or "-",
            d.note or "-",
        )
    return table


def _grid() -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    return grid
