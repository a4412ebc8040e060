"""Wire models of the overview, health and identity answers."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class WorkerTotals(BaseModel):
    online: int
    total_slots: int
    busy_slots: int


class SeriesPoint(BaseModel):
    bucket: datetime
    completed: int
    failed: int


class StatsOut(BaseModel):
    jobs: int
    jobs_enabled: int
    jobs_exact: bool = Field(
        default=True,
        description="Whether jobs and jobs_enabled are exact counts (up to 10,000) or the "
        "database's estimate.",
    )
    runs: dict[str, int]
    queue_depth: int
    running: int
    failed_24h: int
    workers: WorkerTotals
    utilization: float
    scheduler_lag: float | None
    scheduler_leader: bool
    success_rate_series: list[SeriesPoint]


class HealthOut(BaseModel):
    status: str = Field(description="ok, or degraded when a backend does not answer (503).")
    version: str
    checks: dict[str, str]
    scheduler_leader: bool


class WhoAmI(BaseModel):
    name: str
    role: str
    auth: bool
    scopes: dict[str, str] = Field(
        default_factory=dict, description="The token's role per namespace ('*': the rest)."
    )


class NamespaceOut(BaseModel):
    name: str
    jobs: int = Field(description="Jobs in the namespace.")
    role: str | None = Field(description="The calling token's role in the namespace.")


class NamespaceList(BaseModel):
    namespaces: list[NamespaceOut]
