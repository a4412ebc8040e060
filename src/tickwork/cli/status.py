"""`tickwork status`: the overview from /api/stats, and the open dead letters, in one screen."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Group
from rich.table import Table
from rich.text import Text

from tickwork.cli.common import JsonOpt, ServerOpt, TokenOpt, out, print_json, session
from tickwork.cli.render import seconds, when
from tickwork.schemas.runs import DeadLetterList
from tickwork.schemas.system import HealthOut, StatsOut

LatestOpt = Annotated[
    int, typer.Option("--dead-letters", min=0, max=100, help="Open dead letters to list.")
]


def status(
    server: ServerOpt = None,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
    latest: LatestOpt = 5,
) -> None:
    """Queue depth, running, failed in 24h, worker utilisation, scheduler lag, and the open
    dead letters (how many, and the latest few)."""
    with session(server, token) as client:
        health = client.health()
        stats = client.stats()
        letters = client.list_dead_letters(resolved=False, limit=max(latest, 1))
    letters.dead_letters = letters.dead_letters[:latest]
    if as_json:
        print_json({"health": health, "stats": stats, "dead_letters": letters})
        return
    out().print(Group(overview(health, stats, letters), *_latest(letters)))


def overview(health: HealthOut, stats: StatsOut, letters: DeadLetterList) -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    w = stats.workers
    checks = ", ".join(f"{k} {v}" for k, v in health.checks.items())
    lag = "-" if stats.scheduler_lag is None else seconds(stats.scheduler_lag)
    runs = ", ".join(f"{k} {v}" for k, v in stats.runs.items() if v)
    rows: list[tuple[str, str | Text]] = [
        ("health", Text(health.status, style="green" if health.status == "ok" else "red")),
        ("checks", checks),
        ("version", health.version),
        ("jobs", f"{stats.jobs} ({stats.jobs_enabled} enabled)"),
        ("queue depth", str(stats.queue_depth)),
        ("running", str(stats.running)),
        ("failed 24h", str(stats.failed_24h)),
        ("workers", f"{w.online} online, {w.busy_slots}/{w.total_slots} slots busy"),
        ("utilisation", f"{stats.utilization:.0%}"),
        ("scheduler lag", lag),
        ("runs", runs or "-"),
        ("dead letters", Text(f"{letters.total} open", style="red" if letters.total else "")),
    ]
    for key, value in rows:
        grid.add_row(key, value)
    return grid


def _latest(letters: DeadLetterList) -> list[Table]:
    """The latest open dead letters, one line each (``tickwork dlq list`` has them all)."""
    if not letters.dead_letters:
        return []
    table = Table("dead letter", "job", "failed", "error", title="latest open dead letters")
    for d in letters.dead_letters:
        table.add_row(
            d.id, d.job_name, when(d.created_at), Text(d.error_summary or "-", style="red")
        )
    return [table]
