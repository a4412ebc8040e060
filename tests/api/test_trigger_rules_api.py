"""Trigger rules over the API, on SQLite and PostgreSQL with auth on: depends_on entries with a
condition, trigger_rule, 422 for a bad condition or an unknown job, 409 for a cycle through a
failure edge, /api/dag's edge conditions, and a failure firing its on-failure dependent."""

from __future__ import annotations

import httpx
import pytest

from tickwork.config import Settings
from tickwork.domain.runs import Completion
from tickwork.service.container import Container
from tickwork.testing import job_payload

from .tenancy import bearer


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(database_url=db_url, auth=True)


async def test_conditions_round_trip_and_plain_names_stay_plain(
    api: httpx.AsyncClient, container: Container
) -> None:
    admin = await bearer(container, role="admin")
    for name in ("extract", "load"):
        assert (await api.post("/api/jobs", json=job_payload(name), headers=admin)).is_success
    body = job_payload(
        "cleanup",
        depends_on=["extract", {"job": "load", "on": "failure"}],
        trigger_rule="any",
    )
    made = await api.post("/api/jobs", json=body, headers=admin)
    assert made.status_code == 201, made.text
    assert made.json()["depends_on"] == ["extract", {"job": "load", "on": "failure"}]
    assert made.json()["trigger_rule"] == "any"
    # an object with on=success reads back as the plain name
    same = job_payload("cleanup", depends_on=[{"job": "extract"}, {"job": "load", "on": "done"}])
    put = await api.put("/api/jobs/cleanup", json=same, headers=admin)
    assert put.status_code == 200, put.text
    assert put.json()["depends_on"] == ["extract", {"job": "load", "on": "done"}]
    assert put.json()["trigger_rule"] == "all"
    dag = (await api.get("/api/dag", headers=admin)).json()
    assert sorted((e["source"], e["target"], e["on"]) for e in dag["edges"]) == [
        ("extract", "cleanup", "success"),
        ("load", "cleanup", "done"),
    ]
    patched = await api.patch(
        "/api/jobs/cleanup",
        json={"depends_on": [{"job": "load", "on": "failure"}]},
        headers={**admin, "Content-Type": "application/merge-patch+json"},
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["depends_on"] == [{"job": "load", "on": "failure"}]
    viewer = await bearer(container, role="viewer")
    seen = await api.get("/api/jobs/cleanup", headers=viewer)
    assert seen.json()["depends_on"] == [{"job": "load", "on": "failure"}]


async def test_bad_conditions_unknown_jobs_and_cycles_are_refused(
    api: httpx.AsyncClient, container: Container
) -> None:
    admin = await bearer(container, role="admin")
    await api.post("/api/jobs", json=job_payload("a"), headers=admin)
    bad_on = job_payload("b", depends_on=[{"job": "a", "on": "sometimes"}])
    r = await api.post("/api/jobs", json=bad_on, headers=admin)
    assert r.status_code == 422
    assert r.json()["error"]["details"] == [
        {"field": "depends_on.0.on", "message": "Input should be 'success', 'failure' or 'done'"}
    ]
    extra = job_payload("b", depends_on=[{"job": "a", "when": "failure"}])
    r = await api.post("/api/jobs", json=extra, headers=admin)
    assert r.json()["error"]["details"] == [
        {"field": "depends_on.0.when", "message": "unknown field"}
    ]
    bad_rule = await api.post(
        "/api/jobs", json=job_payload("b", trigger_rule="most"), headers=admin
    )
    assert bad_rule.status_code == 422
    assert bad_rule.json()["error"]["details"][0]["field"] == "trigger_rule"
    unknown = job_payload("b", depends_on=[{"job": "ghost", "on": "failure"}])
    r = await api.post("/api/jobs", json=unknown, headers=admin)
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "depends_on"
    twice = job_payload("b", depends_on=["a", {"job": "a", "on": "done"}])
    r = await api.post("/api/jobs", json=twice, headers=admin)
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "depends_on"
    # a cycle through a failure edge is still a cycle
    on_fail = job_payload("b", depends_on=[{"job": "a", "on": "failure"}])
    assert (await api.post("/api/jobs", json=on_fail, headers=admin)).status_code == 201
    closing = job_payload("a", depends_on=[{"job": "b", "on": "done"}])
    r = await api.put("/api/jobs/a", json=closing, headers=admin)
    assert r.status_code == 409
    assert r.json()["error"]["message"] == "dependency cycle: a → b → a"
    assert (await api.get("/api/jobs/a", headers=admin)).json()["depends_on"] == []
    # nothing was half-written: the refused creates left no job behind
    names = [j["name"] for j in (await api.get("/api/jobs", headers=admin)).json()["jobs"]]
    assert names == ["a", "b"]


async def test_an_editor_may_not_add_a_failure_edge_to_another_namespace(
    api: httpx.AsyncClient, container: Container
) -> None:
    both = await bearer(container, scopes={"data": "admin", "ops": "admin"})
    up = job_payload("nightly", namespace="data")
    assert (await api.post("/api/jobs", json=up, headers=both)).status_code == 201
    body = job_payload(
        "page", namespace="ops", depends_on=[{"job": "data/nightly", "on": "failure"}]
    )
    one = await bearer(container, scopes={"ops": "admin", "data": "viewer"})
    refused = await api.post("/api/jobs", json=body, headers=one)
    assert refused.status_code == 403
    made = await api.post("/api/jobs", json=body, headers=both)
    assert made.status_code == 201, made.text
    assert made.json()["depends_on"] == [{"job": "data/nightly", "on": "failure"}]


async def test_a_failure_fires_the_dependent_and_the_run_shows_its_upstream(
    api: httpx.AsyncClient, container: Container
) -> None:
    admin = await bearer(container, role="admin")
    await api.post("/api/jobs", json=job_payload("etl", retries=0), headers=admin)
    notify = job_payload("notify", depends_on=[{"job": "etl", "on": "failure"}])
    await api.post("/api/jobs", json=notify, headers=admin)
    run_id = (await api.post("/api/jobs/etl/trigger", headers=admin)).json()["run_id"]
    worker = await container.workers.register(
        hostname="h", pid=1, tags=["default"], concurrency=2, version="t"
    )
    [got] = await container.workers.claim(worker.id, limit=2, wait=0)
    await container.workers.complete_one(
        Completion(got.run_id, got.fence, "failed", error="exit 3: disk full")
    )
    runs = (await api.get("/api/jobs/notify/runs", headers=admin)).json()["runs"]
    assert len(runs) == 1 and runs[0]["trigger"] == "dependency"
    detail = (await api.get(f"/api/runs/{runs[0]['id']}", headers=admin)).json()
    assert detail["upstream_run_ids"] == [run_id]
    assert detail["upstream"] == [
        {
            "run_id": run_id,
            "job": "etl",
            "status": "failed",
            "error": "exit 3: disk full",
            "error_summary": detail["upstream"][0]["error_summary"],
        }
    ]
    assert detail["upstream"][0]["error_summary"]
