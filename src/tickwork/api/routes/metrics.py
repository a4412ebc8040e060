"""GET /metrics in the Prometheus text format."""

from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST

from tickwork.api.deps import ContainerDep, operation_id

router = APIRouter(tags=["system"], generate_unique_id_function=operation_id)


@router.get("/metrics", response_class=Response, name="metrics")
async def metrics(c: ContainerDep) -> Response:
    """Runs by job and status, durations, queue depth, scheduler lag, leases, worker slots."""
    m = c.metrics
    o = await c.stats.overview()
    for status, n in o.runs_by_status.items():
        m.runs_by_status.labels(status).set(n)
    running = o.runs_by_status.get("running", 0)
    m.queue_depth.set(o.ready)
    m.running.set(running)
    m.scheduler_lag.set(o.scheduler_lag)
    m.leader.set(1 if c.scheduler.is_leader else 0)
    m.worker_slots.labels("total").set(o.slots)
    m.worker_slots.labels("busy").set(running)
    m.workers.set(o.workers_online)
    m.jobs.labels("total").set(o.jobs)
    m.jobs.labels("enabled").set(o.jobs_enabled)
    return Response(m.render(), media_type=CONTENT_TYPE_LATEST)
