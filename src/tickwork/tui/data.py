"""What `tickwork top` shows, read with a handful of cheap API calls, and how it is written.

One ``Snapshot`` is five reads made at once: ``/api/stats``, the running and the queued runs,
the latest failures and the workers. Everything else here turns them into short cells that
fit an 80-column terminal.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime

from rich.text import Text

from tickwork.client import AsyncClient
from tickwork.schemas.runs import RunOut
from tickwork.schemas.system import StatsOut
from tickwork.schemas.workers import WorkerOut

__all__ = [
    "ACTIVE_LIMIT",
    "FAILED_LIMIT",
    "Snapshot",
    "ago",
    "elapsed",
    "fit",
    "read_snapshot",
    "span",
    "stats_line",
]

ACTIVE_LIMIT = 50
"""Running runs read per refresh, and as many queued ones (the queue depth counts them all)."""
FAILED_LIMIT = 20
"""Latest failed runs read per refresh."""


@dataclass(frozen=True, slots=True)
class Snapshot:
    stats: StatsOut
    running: list[RunOut]
    queued: list[RunOut]
    failed: list[RunOut]
    workers: list[WorkerOut]


async def read_snapshot(client: AsyncClient) -> Snapshot:
    """The five reads, concurrently; the first error raised is the one reported."""
    stats, running, queued, failed, workers = await asyncio.gather(
        client.stats(),
        client.list_runs(status="running", limit=ACTIVE_LIMIT),
        client.list_runs(status="queued", limit=ACTIVE_LIMIT),
        client.list_runs(status="failed", limit=FAILED_LIMIT),
        client.list_workers(),
    )
    return Snapshot(stats, running.runs, queued.runs, failed.runs, workers)


def span(seconds: float) -> str:
    """``42s``, ``3m05s``, ``2h10m``, ``3d04h``: at most six characters."""
    s = max(0, round(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    return f"{s // 86400}d{s % 86400 // 3600:02d}h"


def ago(at: datetime | None, now: datetime) -> str:
    return "-" if at is None else span((now - at).total_seconds())


def elapsed(run: RunOut, now: datetime) -> Text:
    """Running: ``1m05s/1h`` (yellow past 80 % of the timeout, red past it). Queued: how long
    it has waited, ``retry 5s`` while it waits for its retry time, ``due 5s`` while a run
    written ahead of its tick waits for its fire time."""
    if run.status == "queued":
        if run.not_before is not None and run.not_before > now:
            kind = "due" if run.attempt == 0 else "retry"
            return Text(f"{kind} {span((run.not_before - now).total_seconds())}", style="yellow")
        return Text(f"wait {ago(run.queued_at, now)}", style="dim")
    if run.started_at is None:
        return Text("starting", style="dim")
    took = (now - run.started_at).total_seconds()
    share = took / run.timeout if run.timeout else 0.0
    style = "red" if share >= 1 else "yellow" if share >= 0.8 else ""
    return Text(f"{span(took)}/{span(run.timeout)}", style=style)


def fit(text: str | None, width: int) -> str:
    """``text`` cut to ``width`` characters, with an ellipsis when something was cut."""
    value = (text or "").replace("\n", " ")
    if len(value) <= width:
        return value
    return value[: max(0, width - 1)] + "…"


def stats_line(stats: StatsOut) -> Text:
    w = stats.workers
    lag = "-" if stats.scheduler_lag is None else f"{stats.scheduler_lag:.1f}s"
    line = Text()
    for label, value, style in (
        ("queue", str(stats.queue_depth), "yellow" if stats.queue_depth else ""),
        ("running", str(stats.running), "cyan" if stats.running else ""),
        ("failed 24h", str(stats.failed_24h), "red" if stats.failed_24h else ""),
        ("workers", f"{w.online} ({w.busy_slots}/{w.total_slots} busy)", ""),
        ("lag", lag, ""),
    ):
        if line:
            line.append(" │ ", style="dim")
        line.append(f"{label} ", style="bold")
        line.append(value, style=style)
    return line
