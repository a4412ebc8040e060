"""/metrics speaks Prometheus and counts what happened."""

from __future__ import annotations

import httpx

from tickwork.domain.clock import FakeClock
from tickwork.service.container import Container
from tickwork.testing import job_payload

from .conftest import count_finished


async def test_metrics_report_runs_durations_queue_and_workers(
    api: httpx.AsyncClient, clock: FakeClock, container: Container
) -> None:
    await api.post("/api/jobs", json=job_payload("measured", on_overlap="queue"))
    run_id = (await api.post("/api/jobs/measured/trigger")).json()["run_id"]
    clock.advance(1)  # oldest first: the first run is the one claimed
    await api.post("/api/jobs/measured/trigger")  # stays queued
    wid = (await api.post("/api/workers", json={"hostname": "h", "pid": 1})).json()["id"]
    [claimed] = (await api.post(f"/api/workers/{wid}/claim", json={"limit": 1})).json()[
        "assignments"
    ]
    assert claimed["run_id"] == run_id
    report = {
        "starts": [{"run_id": run_id, "fence": claimed["fence"]}],
        "completions": [{"run_id": run_id, "fence": claimed["fence"], "status": "completed"}],
    }
    await api.post(f"/api/workers/{wid}/report", json=report)
    await count_finished(container)
    r = await api.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    lines = set(r.text.splitlines())
    assert 'tickwork_runs_finished_total{job="measured",status="completed"} 1.0' in lines
    assert 'tickwork_run_duration_seconds_count{job="measured"} 1.0' in lines
    assert "tickwork_queue_depth 1.0" in lines
    assert "tickwork_workers_online 1.0" in lines
    assert 'tickwork_worker_slots{state="total"} 4.0' in lines
    assert 'tickwork_runs{status="completed"} 1.0' in lines
