"""Retention over the API: jobs' own limits, and POST /api/prune (dry run and real)."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from tickwork.domain.clock import FakeClock
from tickwork.service.container import Container
from tickwork.testing import job_payload


async def test_a_job_keeps_its_own_retention(api: httpx.AsyncClient) -> None:
    made = await api.post(
        "/api/jobs", json=job_payload("kept", retention_days=3.5, retention_runs=100)
    )
    assert made.status_code == 201, made.text
    assert (made.json()["retention_days"], made.json()["retention_runs"]) == (3.5, 100)
    plain = await api.post("/api/jobs", json=job_payload("plain"))
    assert (plain.json()["retention_days"], plain.json()["retention_runs"]) == (None, None)


@pytest.mark.parametrize(
    ("field", "value"),
    [("retention_days", 0), ("retention_days", -1), ("retention_runs", 0), ("retention_runs", 1.5)],
)
async def test_impossible_retention_is_refused(
    api: httpx.AsyncClient, field: str, value: float
) -> None:
    answer = await api.post("/api/jobs", json=job_payload("bad", **{field: value}))
    assert answer.status_code == 422
    assert field in answer.text
    assert (await api.get("/api/jobs/bad")).status_code == 404


async def test_prune_counts_then_removes_what_the_policy_says(
    api: httpx.AsyncClient, container: Container, clock: FakeClock
) -> None:
    body = job_payload("old", retention_runs=2, on_overlap="queue")
    job = (await api.post("/api/jobs", json=body)).json()
    for _ in range(5):
        run = (await api.post(f"/api/jobs/{job['id']}/trigger", json={})).json()
        await container.runs.cancel(run["run_id"])  # finished: cancelled
        clock.advance(1)

    dry = await api.post("/api/prune", json={"dry_run": True})
    assert dry.status_code == 200, dry.text
    assert dry.json()["dry_run"] is True and dry.json()["pruned"]["runs"] == 3
    assert dry.json()["policy"]["runs_days"] == container.settings.retain_runs_days
    assert len((await api.get("/api/runs", params={"job": "old"})).json()["runs"]) == 5

    real = await api.post("/api/prune", json={})
    assert real.json()["pruned"]["runs"] == 3 and real.json()["more"] is False
    left = (await api.get("/api/runs", params={"job": "old"})).json()["runs"]
    assert len(left) == 2
    audit = (await api.get("/api/audit", params={"action": "retention-prune"})).json()
    assert [e["details"]["runs"] for e in audit] == [3, 3]

    clock.advance(timedelta(days=400).total_seconds())
    assert (await api.post("/api/prune", json={"dry_run": True})).json()["pruned"]["runs"] == 1


async def test_prune_refuses_unknown_fields(api: httpx.AsyncClient) -> None:
    answer = await api.post("/api/prune", json={"dry": True})
    assert answer.status_code == 422 and "dry" in answer.text
