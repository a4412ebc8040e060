"""`tickwork status`: the overview from /api/stats in one screen."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from tickwork.cli.common import JsonOpt, ServerOpt, TokenOpt, out, print_json, session
from tickwork.cli.render import seconds
from tickwork.schemas.system import HealthOut, StatsOut


def status(server: ServerOpt = None, token: TokenOpt = None, as_json: JsonOpt = False) -> None:
    """Queue depth, running, failed in 24h, worker utilisation and scheduler lag."""
    with session(server, token) as client:
        health = client.health()
        stats = client.stats()
    if as_json:
        print_json({"health": health, "stats": stats})
        return
    out().print(overview(health, stats))


def overview(health: HealthOut, stats: StatsOut) -> Table:
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
    ]
    for key, value in rows:
        grid.add_row(key, value)
    return grid
