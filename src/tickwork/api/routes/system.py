"""/api/health and /api/stats."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi import APIRouter
from fastapi.responses import JSONResponse

import tickwork
from tickwork.api.deps import ContainerDep, operation_id
from tickwork.domain.runs import RUN_STATUSES
from tickwork.schemas.system import HealthOut, SeriesPoint, StatsOut, WorkerTotals

router = APIRouter(tags=["system"], generate_unique_id_function=operation_id)


@router.get(
    "/api/health",
    name="health",
    response_model=HealthOut,
    responses={503: {"model": HealthOut, "description": "A backend does not answer."}},
)
async def health(c: ContainerDep) -> JSONResponse:
    """Liveness and readiness: the database and coordination backends answer."""
    checks = await c.stats.health()
    ok = all(v == "ok" for v in checks.values())
    body = HealthOut(
        status="ok" if ok else "degraded",
        version=tickwork.__version__,
        checks=checks,
        scheduler_leader=c.scheduler.is_leader,
    )
    return JSONResponse(body.model_dump(), status_code=200 if ok else 503)


def _series(now: datetime, hours: list[tuple[datetime, str, int]]) -> list[SeriesPoint]:
    start = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=23)
    buckets = {start + timedelta(hours=i): [0, 0] for i in range(24)}
    for at, status, n in hours:
        bucket = buckets.get(at.astimezone(UTC))
        if bucket is not None and status in ("completed", "failed"):
            bucket[0 if status == "completed" else 1] += n
    return [SeriesPoint(bucket=b, completed=v[0], failed=v[1]) for b, v in buckets.items()]


@router.get("/api/stats", response_model=StatsOut, name="stats")
async def stats(c: ContainerDep) -> StatsOut:
    """Totals for the overview: queue depth, running, failures, utilisation, scheduler lag."""
    o = await c.stats.overview()
    runs = {k: o.runs_by_status.get(k, 0) for k in RUN_STATUSES}
    busy = runs["running"]
    return StatsOut(
        jobs=o.jobs,
        jobs_enabled=o.jobs_enabled,
        jobs_exact=o.jobs_exact,
        runs=runs,
        queue_depth=o.ready,
        running=busy,
        failed_24h=o.failed_24h,
        workers=WorkerTotals(online=o.workers_online, total_slots=o.slots, busy_slots=busy),
        utilization=min(1.0, busy / o.slots) if o.slots else 0.0,
        scheduler_lag=o.scheduler_lag,
        scheduler_leader=c.scheduler.is_leader,
        success_rate_series=_series(o.now, o.hours),
    )
