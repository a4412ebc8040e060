"""Read-only views for the overview, metrics and health."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tickwork.coord.base import Coordination
from tickwork.domain.clock import Clock
from tickwork.store.base import Store


@dataclass(frozen=True, slots=True)
class Overview:
    now: datetime
    runs_by_status: dict[str, int]
    jobs: int
    jobs_enabled: int
    jobs_exact: bool
    ready: int
    failed_24h: int
    workers_online: int
    slots: int
    scheduler_lag: float
    hours: list[tuple[datetime, str, int]]
    """Finished runs per hour and status over the last 24 hours (kept totals)."""


class StatsService:
    def __init__(self, store: Store, coord: Coordination, clock: Clock) -> None:
        self.store = store
        self.coord = coord
        self.clock = clock

    async def overview(self) -> Overview:
        now = self.clock.now()
        s: dict[str, Any] = await self.store.stats.overview(now=now)
        lag = max((now - s["oldest_due"]).total_seconds(), 0.0) if s["oldest_due"] else 0.0
        return Overview(
            now=now,
            runs_by_status={k: int(v) for k, v in s["by_status"].items()},
            jobs=s["jobs"],
            jobs_enabled=s["jobs_enabled"],
            jobs_exact=s["jobs_exact"],
            ready=s["ready"],
            failed_24h=s["failed_24h"],
            workers_online=s["workers_online"],
            slots=s["slots"],
            scheduler_lag=lag,
            hours=s["hours"],
        )

    async def health(self) -> dict[str, str]:
        checks: dict[str, str] = {}
        for name, probe in (("database", self.store.ping), ("coordination", self.coord.ping)):
            try:
                checks[name] = "ok" if await probe() else "down"
            except Exception as exc:  # report, never raise: this feeds the health endpoint
                checks[name] = f"down: {type(exc).__name__}"
        return checks
