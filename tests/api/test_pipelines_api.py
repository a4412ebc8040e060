"""Pipelines over the API, on SQLite and PostgreSQL with auth on: create, read, list, replace,
delete; 422 naming the field; 409 for edits of a task job outside its pipeline; a run driven
by a worker through success, failure and an on-failure handler; cancel and retry; the
permissions of each role."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from tickwork.config import Settings
from tickwork.domain.clock import FakeClock
from tickwork.domain.runs import Completion
from tickwork.service.container import Container

from .tenancy import bearer


def etl(**extra: Any) -> dict[str, Any]:
    return {
        "name": "etl",
        "tasks": [
            {"name": "extract", "type": "shell", "command": "echo e", "retries": 0},
            {
                "name": "load",
                "type": "shell",
                "command": "echo l",
                "retries": 0,
                "depends_on": ["extract"],
            },
            {
                "name": "notify",
                "type": "shell",
                "command": "echo n",
                "retries": 0,
                "depends_on": [{"job": "extract", "on": "failure"}],
            },
        ],
        **extra,
    }


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 12, 21, 12, tzinfo=UTC))


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(database_url=db_url, auth=True)


async def finish(c: Container, outcomes: dict[str, str]) -> list[str]:
    """Claim every queued run and end each as ``outcomes`` says by job name (else completed);
    the job names finished."""
    worker = await c.workers.register(
        hostname="h", pid=1, tags=["default"], concurrency=50, version="t"
    )
    got = await c.workers.claim(worker.id, limit=50, wait=0)
    names = []
    for a in got:
        run = await c.runs.get(a.run_id)
        outcome = outcomes.get(run.job_name, "completed")
        await c.workers.complete_one(
            Completion(a.run_id, a.fence, outcome, error=None if outcome == "completed" else "x")
        )
        names.append(run.job_name)
    return sorted(names)


async def test_create_read_list(api: httpx.AsyncClient, container: Container) -> None:
    admin = await bearer(container, role="admin")
    made = await api.post("/api/pipelines", json=etl(schedule="0 2 * * *"), headers=admin)
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["id"].startswith("pipe-")
    assert [t["job_name"] for t in body["tasks"]] == ["etl.extract", "etl.load", "etl.notify"]
    assert body["tasks"][1]["depends_on"] == ["extract"]
    assert body["tasks"][2]["depends_on"] == [{"job": "extract", "on": "failure"}]
    assert body["tasks"][0]["command"] == "echo e"
    assert body["next_run"] == "2026-12-22T02:00:00Z"
    assert body["last_run"] is None
    got = await api.get("/api/pipelines/etl", headers=admin)
    assert got.json()["id"] == body["id"]
    listed = (await api.get("/api/pipelines", headers=admin)).json()
    assert [p["name"] for p in listed["items"]] == ["etl"]
    assert listed["total"] == 1
    job = (await api.get("/api/jobs/etl.load", headers=admin)).json()
    assert job["schedule"] is None
    # the task graph is the pipeline's: no job dependency edges
    assert job["depends_on"] == []


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda b: b["tasks"][1].update(depends_on=["nowhere"]), "tasks[1].depends_on"),
        (lambda b: b["tasks"][0].update(depends_on=["load"]), "tasks[0].depends_on"),
        (lambda b: b["tasks"][2].update(name="extract"), "tasks[2].name"),
        (lambda b: b["tasks"][0].update(command=None), "tasks[0].command"),
        (lambda b: b.update(tasks=[]), "tasks"),
        (lambda b: b["tasks"][0].update(name="a.b"), "tasks[0].name"),
        (lambda b: b["tasks"][1].update(tags=[""]), "tasks[1].tags[0]"),
        (lambda b: b["tasks"][1].update(worker_tags=["bad tag"]), "tasks[1].worker_tags"),
        (lambda b: b["tasks"][2].update(retries=-1), "tasks[2].retries"),
    ],
)
async def test_bad_definitions_name_the_field(
    api: httpx.AsyncClient, container: Container, change: Any, field: str
) -> None:
    admin = await bearer(container, role="admin")
    body = etl()
    change(body)
    bad = await api.post("/api/pipelines", json=body, headers=admin)
    assert bad.status_code == 422, bad.text
    assert field in [d["field"] for d in bad.json()["error"]["details"]]
    assert (await api.get("/api/pipelines", headers=admin)).json()["total"] == 0
    assert (await api.get("/api/jobs", headers=admin)).json()["total"] == 0


async def test_a_task_name_colliding_with_a_job(
    api: httpx.AsyncClient, container: Container
) -> None:
    admin = await bearer(container, role="admin")
    job = {"name": "etl.load", "type": "shell", "command": "true"}
    assert (await api.post("/api/jobs", json=job, headers=admin)).status_code == 201
    bad = await api.post("/api/pipelines", json=etl(), headers=admin)
    assert bad.status_code == 422
    assert bad.json()["error"]["details"][0]["field"] == "tasks[1].name"
    assert (await api.get("/api/pipelines", headers=admin)).json()["total"] == 0


async def test_task_jobs_change_only_through_the_pipeline(
    api: httpx.AsyncClient, container: Container
) -> None:
    admin = await bearer(container, role="admin")
    await api.post("/api/pipelines", json=etl(), headers=admin)
    job = {"name": "etl.load", "type": "shell", "command": "false"}
    for answer in (
        await api.put("/api/jobs/etl.load", json=job, headers=admin),
        await api.patch("/api/jobs/etl.load", json={"command": "false"}, headers=admin),
        await api.delete("/api/jobs/etl.load", headers=admin),
        await api.post("/api/jobs/etl.load/pause", headers=admin),
    ):
        assert answer.status_code == 409, answer.text
        assert "pipeline 'etl'" in answer.json()["error"]["message"]
    changed = etl()
    changed["tasks"][1]["command"] = "echo changed"
    changed["tasks"] = changed["tasks"][:2]
    put = await api.put("/api/pipelines/etl", json=changed, headers=admin)
    assert put.status_code == 200, put.text
    assert [t["name"] for t in put.json()["tasks"]] == ["extract", "load"]
    assert (await api.get("/api/jobs/etl.load", headers=admin)).json()["command"] == "echo changed"
    assert (await api.get("/api/jobs/etl.notify", headers=admin)).status_code == 404


async def test_a_run_with_a_failure_and_its_handler(
    api: httpx.AsyncClient, container: Container
) -> None:
    admin = await bearer(container, role="admin")
    await api.post("/api/pipelines", json=etl(), headers=admin)
    made = await api.post("/api/pipelines/etl/trigger", headers=admin)
    assert made.status_code == 201, made.text
    run = made.json()
    assert run["status"] == "running"
    states = {t["name"]: t["status"] for t in run["tasks"]}
    assert states == {"extract": "queued", "load": "pending", "notify": "pending"}
    assert await finish(container, {"etl.extract": "failed"}) == ["etl.extract"]
    mid = (await api.get(f"/api/pipeline-runs/{run['id']}", headers=admin)).json()
    by_name = {t["name"]: t for t in mid["tasks"]}
    assert by_name["load"]["status"] == "skipped"
    assert by_name["load"]["reason"] == "upstream failed: extract"
    assert by_name["notify"]["status"] == "queued"
    runs = (await api.get("/api/runs", headers=admin)).json()["runs"]
    notify_run = next(r for r in runs if r["job_name"] == "etl.notify")
    assert notify_run["pipeline_run_id"] == run["id"]
    assert notify_run["upstream_run_ids"] == [by_name["extract"]["run_id"]]
    assert await finish(container, {}) == ["etl.notify"]
    end = (await api.get(f"/api/pipeline-runs/{run['id']}", headers=admin)).json()
    assert end["status"] == "failed"
    assert end["error"] == "failed: extract"
    assert end["task_counts"] == {"failed": 1, "skipped": 1, "completed": 1}
    # retried from its failure: extract again, then load; notify's run is kept
    again = await api.post(f"/api/pipeline-runs/{run['id']}/retry", headers=admin)
    assert again.status_code == 200, again.text
    assert {t["name"]: t["status"] for t in again.json()["tasks"]} == {
        "extract": "queued",
        "load": "pending",
        "notify": "completed",
    }
    assert await finish(container, {}) == ["etl.extract"]
    assert await finish(container, {}) == ["etl.load"]
    done = (await api.get(f"/api/pipeline-runs/{run['id']}", headers=admin)).json()
    assert done["status"] == "completed"
    assert len(next(t for t in done["tasks"] if t["name"] == "extract")["runs"]) == 2
    assert (
        await api.post(f"/api/pipeline-runs/{run['id']}/retry", headers=admin)
    ).status_code == 409
    listed = (await api.get("/api/pipelines/etl/runs", headers=admin)).json()
    assert [r["status"] for r in listed["items"]] == ["completed"]
    assert (await api.get("/api/pipelines/etl", headers=admin)).json()["last_run"]["id"] == run[
        "id"
    ]


async def test_cancel_skips_the_rest_and_delete_waits(
    api: httpx.AsyncClient, container: Container
) -> None:
    admin = await bearer(container, role="admin")
    await api.post("/api/pipelines", json=etl(), headers=admin)
    run = (await api.post("/api/pipelines/etl/trigger", headers=admin)).json()
    assert (await api.delete("/api/pipelines/etl", headers=admin)).status_code == 409
    cancelled = await api.post(f"/api/pipeline-runs/{run['id']}/cancel", headers=admin)
    assert cancelled.status_code == 200, cancelled.text
    body = cancelled.json()
    assert body["status"] == "cancelled"
    by_name = {t["name"]: (t["status"], t["reason"]) for t in body["tasks"]}
    assert by_name["extract"][0] == "cancelled"
    assert by_name["load"] == ("skipped", "pipeline cancelled")
    assert (
        await api.post(f"/api/pipeline-runs/{run['id']}/cancel", headers=admin)
    ).status_code == 409
    assert (await api.delete("/api/pipelines/etl", headers=admin)).status_code == 204
    assert (await api.get("/api/jobs/etl.extract", headers=admin)).status_code == 404
    assert (await api.get(f"/api/pipeline-runs/{run['id']}", headers=admin)).status_code == 404


async def test_idempotency_and_overlap(api: httpx.AsyncClient, container: Container) -> None:
    admin = await bearer(container, role="admin")
    await api.post("/api/pipelines", json=etl(), headers=admin)
    key = {**admin, "Idempotency-Key": "k1"}
    first = (await api.post("/api/pipelines/etl/trigger", headers=key)).json()
    second = (await api.post("/api/pipelines/etl/trigger", headers=key)).json()
    assert second["id"] == first["id"]
    assert second["created"] is False
    skipped = (await api.post("/api/pipelines/etl/trigger", headers=admin)).json()
    assert skipped["id"] == first["id"]  # on_overlap=skip: the active run
    bad = await api.post(
        "/api/pipelines/etl/trigger", json={"parameters": {"nope": {}}}, headers=admin
    )
    assert bad.status_code == 422
    assert bad.json()["error"]["details"][0]["field"] == "parameters.nope"


async def test_permissions_by_role(api: httpx.AsyncClient, container: Container) -> None:
    admin = await bearer(container, role="admin")
    viewer = await bearer(container, role="viewer")
    operator = await bearer(container, role="operator")
    other = await bearer(container, scopes={"team-a": "admin"})
    assert (await api.post("/api/pipelines", json=etl(), headers=viewer)).status_code == 403
    assert (await api.post("/api/pipelines", json=etl(), headers=operator)).status_code == 403
    assert (await api.post("/api/pipelines", json=etl(), headers=admin)).status_code == 201
    assert (await api.get("/api/pipelines/etl", headers=viewer)).status_code == 200
    assert (await api.post("/api/pipelines/etl/trigger", headers=viewer)).status_code == 403
    assert (await api.post("/api/pipelines/etl/pause", headers=viewer)).status_code == 403
    run = await api.post("/api/pipelines/etl/trigger", headers=operator)
    assert run.status_code == 201
    run_id = run.json()["id"]
    assert (await api.get(f"/api/pipeline-runs/{run_id}", headers=viewer)).status_code == 200
    assert (
        await api.post(f"/api/pipeline-runs/{run_id}/cancel", headers=viewer)
    ).status_code == 403
    assert (
        await api.post(f"/api/pipeline-runs/{run_id}/cancel", headers=operator)
    ).status_code == 200
    paused = await api.post("/api/pipelines/etl/pause", headers=operator)
    assert paused.json()["enabled"] is False
    assert paused.json()["last_run"]["id"] == run_id
    assert (await api.put("/api/pipelines/etl", json=etl(), headers=operator)).status_code == 403
    assert (await api.delete("/api/pipelines/etl", headers=operator)).status_code == 403
    # a token of another namespace sees nothing of default's: pipelines, runs or events
    assert (await api.get("/api/pipelines", headers=other)).json()["total"] == 0
    kinds = ["pipeline_run.queued", "pipeline_run.started", "pipeline_run.finished"]
    seen = await api.get("/api/events", params={"type": kinds}, headers=viewer)
    assert sorted(e["type"] for e in seen.json()) == sorted(kinds)
    finished = next(e for e in seen.json() if e["type"] == "pipeline_run.finished")
    assert finished["data"]["status"] == "cancelled"
    assert finished["data"]["pipeline_run_id"] == run_id
    hidden = await api.get("/api/events", params={"type": kinds}, headers=other)
    assert hidden.json() == []
    assert (await api.get(f"/api/pipeline-runs/{run_id}", headers=other)).status_code == 403
    mine = await api.post("/api/pipelines", json=etl(namespace="team-a"), headers=other)
    assert mine.status_code == 201, mine.text
    assert (await api.get("/api/jobs/etl.load?namespace=team-a", headers=other)).status_code == 200


async def test_removing_a_task_waits_for_the_active_run(
    api: httpx.AsyncClient, container: Container
) -> None:
    admin = await bearer(container, role="admin")
    await api.post("/api/pipelines", json=etl(), headers=admin)
    run = (await api.post("/api/pipelines/etl/trigger", headers=admin)).json()
    smaller = etl()
    smaller["tasks"] = smaller["tasks"][:2]
    refused = await api.put("/api/pipelines/etl", json=smaller, headers=admin)
    assert refused.status_code == 409, refused.text
    assert run["id"] in refused.json()["error"]["message"]
    assert (await api.get("/api/jobs/etl.notify", headers=admin)).status_code == 200
    # a change that removes nothing goes ahead; the active run keeps its graph
    bigger = etl()
    bigger["tasks"].append({"name": "extra", "type": "shell", "command": "true"})
    grown = await api.put("/api/pipelines/etl", json=bigger, headers=admin)
    assert grown.status_code == 200, grown.text
    same = (await api.get(f"/api/pipeline-runs/{run['id']}", headers=admin)).json()
    assert [t["name"] for t in same["tasks"]] == ["extract", "load", "notify"]
    forced = await api.put("/api/pipelines/etl?force=true", json=smaller, headers=admin)
    assert forced.status_code == 200, forced.text
    ended = (await api.get(f"/api/pipeline-runs/{run['id']}", headers=admin)).json()
    assert ended["status"] == "cancelled"
    assert (await api.get("/api/jobs/etl.notify", headers=admin)).status_code == 404
    renamed = await api.put("/api/pipelines/etl", json={**smaller, "name": "other"}, headers=admin)
    assert renamed.status_code == 422
