"""One-off runs over the API (POST /api/runs), on SQLite and PostgreSQL with auth on: 201 with
the run and a Location; listed with the runs, never with the jobs; 422 naming a job-only
field or a bad type; 403 for a viewer, for an operator of another namespace and for an
operator naming a secret; an idempotency key answers its run (200); the run quotas apply
and max_jobs does not; a viewer sees secret references, never values; cancel, dead letters
and replay work as for a job's run."""

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

SHELL = {"type": "shell", "command": "echo hi", "retries": 1}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 12, 2, 9, tzinfo=UTC))


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(database_url=db_url, auth=True)


@pytest.fixture
async def admin(container: Container) -> dict[str, str]:
    return await bearer(container, role="admin")


async def submit(
    api: httpx.AsyncClient, headers: dict[str, str], body: dict[str, Any], status: int = 201
) -> dict[str, Any]:
    r = await api.post("/api/runs", json=body, headers=headers)
    assert r.status_code == status, r.text
    return r.json()  # type: ignore[no-any-return]


async def test_a_submitted_run_is_a_run_not_a_job(
    api: httpx.AsyncClient, container: Container, admin: dict[str, str]
) -> None:
    r = await api.post("/api/runs", json={**SHELL, "name": "backfill"}, headers=admin)
    assert r.status_code == 201, r.text
    run = r.json()
    assert r.headers["location"] == f"/api/runs/{run['id']}"
    assert (run["status"], run["one_off"], run["job_name"]) == ("queued", True, "backfill")
    assert run["max_attempts"] == 2 and run["trigger"] == "manual"
    unnamed = await submit(api, admin, SHELL)
    assert unnamed["job_name"] == unnamed["id"]

    listed = (await api.get("/api/runs", headers=admin)).json()
    assert {(x["id"], x["one_off"]) for x in listed["runs"]} == {
        (run["id"], True),
        (unnamed["id"], True),
    }
    assert (await api.get("/api/jobs", headers=admin)).json()["total"] == 0
    stats = (await api.get("/api/stats", headers=admin)).json()
    assert (stats["jobs"], stats["jobs_enabled"], stats["runs"]["queued"]) == (0, 0, 2)
    spaces = (await api.get("/api/namespaces", headers=admin)).json()["namespaces"]
    assert [(n["name"], n["jobs"]) for n in spaces] == [("default", 0)]
    assert (await api.get("/api/dag", headers=admin)).json() == {"nodes": [], "edges": []}
    hidden = run["job_id"]
    assert (await api.get(f"/api/jobs/{hidden}", headers=admin)).status_code == 404
    assert (await api.get(f"/api/jobs/{run['id']}", headers=admin)).status_code == 404
    again = await api.post(f"/api/jobs/{hidden}/trigger", headers=admin)
    assert again.status_code == 404
    bulk = await api.post("/api/runs/bulk", json={"runs": [{"job": hidden}]}, headers=admin)
    assert bulk.status_code == 422

    detail = (await api.get(f"/api/runs/{run['id']}", headers=admin)).json()
    assert detail["spec"]["name"] == "backfill"
    assert (detail["spec"]["type"], detail["spec"]["command"]) == ("shell", "echo hi")
    assert "schedule" not in detail["spec"]
    job_run = await api.post(
        "/api/jobs", json={"name": "plain", "type": "shell", "command": "true"}, headers=admin
    )
    triggered = await api.post(f"/api/jobs/{job_run.json()['id']}/trigger", headers=admin)
    plain = (await api.get(f"/api/runs/{triggered.json()['run_id']}", headers=admin)).json()
    assert (plain["one_off"], plain["spec"]) == (False, None)

    worker = await container.workers.register(
        hostname="h", pid=1, tags=["default"], concurrency=4, version="t"
    )
    got = await container.workers.claim(worker.id, limit=4, wait=0)
    assert {a.run_id for a in got} >= {run["id"], unnamed["id"]}
    mine = next(a for a in got if a.run_id == run["id"])
    assert (mine.job_type, mine.target["command"]) == ("shell", "echo hi")
    await container.workers.complete_one(Completion(mine.run_id, mine.fence, "completed"))
    done = (await api.get(f"/api/runs/{run['id']}", headers=admin)).json()
    assert done["status"] == "completed"


@pytest.mark.parametrize(
    ("extra", "field", "words"),
    [
        ({"schedule": "@daily"}, "schedule", "has no schedule"),
        ({"timezone": "Europe/Berlin"}, "timezone", "has no schedule"),
        ({"depends_on": ["x"]}, "depends_on", "no dependencies"),
        ({"concurrency": 2}, "concurrency", "not to a one-off run"),
        ({"type": "bash"}, "type", "python"),
        ({"bogus": 1}, "bogus", "unknown field"),
        ({"command": None}, "command", "required"),
        ({"env": {"TICKWORK_X": "1"}}, "env.TICKWORK_X", "tickwork's own"),
    ],
)
async def test_bad_submissions_name_the_field(
    api: httpx.AsyncClient,
    admin: dict[str, str],
    extra: dict[str, Any],
    field: str,
    words: str,
) -> None:
    r = await api.post("/api/runs", json={**SHELL, **extra}, headers=admin)
    assert r.status_code == 422, r.text
    [detail] = r.json()["error"]["details"]
    assert detail["field"] == field
    assert words in detail["message"]
    assert (await api.get("/api/runs", headers=admin)).json()["total"] == 0


async def test_permissions_are_a_triggers(api: httpx.AsyncClient, container: Container) -> None:
    viewer = await bearer(container, role="viewer")
    refused = await api.post("/api/runs", json=SHELL, headers=viewer)
    assert refused.status_code == 403
    operator = await bearer(container, scopes={"team": "operator", "*": "viewer"})
    elsewhere = await api.post("/api/runs", json=SHELL, headers=operator)
    assert elsewhere.status_code == 403
    assert elsewhere.json()["error"]["details"]["namespace"] == "default"
    run = await submit(api, operator, {**SHELL, "namespace": "team"})
    assert run["namespace"] == "team"
    by_query = await api.post(
        "/api/runs", params={"namespace": "team"}, json=SHELL, headers=operator
    )
    assert by_query.status_code == 201 and by_query.json()["namespace"] == "team"
    cancelled = await api.post(f"/api/runs/{run['id']}/cancel", headers=operator)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    retried = await api.post(f"/api/runs/{run['id']}/retry", headers=viewer)
    assert retried.status_code == 403


async def test_naming_a_secret_needs_admin_and_viewers_see_references(
    api: httpx.AsyncClient, container: Container, admin: dict[str, str]
) -> None:
    operator = await bearer(container, role="operator")
    body = {
        **SHELL,
        "env": {"PGPASSWORD": {"$secret": "DB_PASS"}},
        "parameters": {"token": {"$secret": "API_TOKEN"}},
    }
    refused = await api.post("/api/runs", json=body, headers=operator)
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"]["details"]["field"] == "parameters.token"
    assert "API_TOKEN" in refused.json()["error"]["message"]
    run = await submit(api, admin, body)
    viewer = await bearer(container, role="viewer")
    seen = (await api.get(f"/api/runs/{run['id']}", headers=viewer)).json()
    assert seen["spec"]["env"] == {"PGPASSWORD": {"$secret": "DB_PASS"}}
    assert seen["parameters"] == {"token": {"$secret": "API_TOKEN"}}
    worker = await container.workers.register(
        hostname="h", pid=1, tags=["default"], concurrency=1, version="t"
    )
    [got] = await container.workers.claim(worker.id, limit=1, wait=0)
    assert got.target["env"] == {"PGPASSWORD": {"$secret": "DB_PASS"}}


async def test_an_idempotency_key_answers_its_run(
    api: httpx.AsyncClient, container: Container, admin: dict[str, str]
) -> None:
    first = await submit(api, admin, {**SHELL, "idempotency_key": "nightly-7"})
    repeat = await submit(api, admin, {**SHELL, "idempotency_key": "nightly-7"}, status=200)
    assert repeat["id"] == first["id"]
    header = await api.post(
        "/api/runs",
        json={**SHELL, "command": "other"},
        headers={**admin, "Idempotency-Key": "nightly-7"},
    )
    assert header.status_code == 200 and header.json()["id"] == first["id"]
    assert header.headers["location"] == f"/api/runs/{first['id']}"
    other_ns = await submit(api, admin, {**SHELL, "idempotency_key": "nightly-7", "namespace": "b"})
    assert other_ns["id"] != first["id"]
    assert (await api.get("/api/runs", headers=admin)).json()["total"] == 2
    assert first["idempotency_key"] == "nightly-7"


async def test_run_quotas_apply_and_max_jobs_does_not(
    api: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    quotas = await api.put(
        "/api/namespaces/default/quotas", json={"max_jobs": 1, "max_queued": 2}, headers=admin
    )
    assert quotas.status_code == 200, quotas.text
    job = await api.post(
        "/api/jobs", json={"name": "only", "type": "shell", "command": "true"}, headers=admin
    )
    assert job.status_code == 201
    await submit(api, admin, SHELL)
    await submit(api, admin, SHELL)
    over = await api.post("/api/runs", json=SHELL, headers=admin)
    assert over.status_code == 429, over.text
    assert over.json()["error"]["details"]["quota"] == "max_queued"
    space = (await api.get("/api/namespaces/default", headers=admin)).json()
    assert space["jobs"] == 1
    used = {u["quota"]: u["used"] for u in space["usage"]}
    assert (used["max_jobs"], used["max_queued"]) == (1, 2)


async def test_failed_one_off_is_dead_lettered_and_replayed(
    api: httpx.AsyncClient, container: Container, admin: dict[str, str]
) -> None:
    run = await submit(api, admin, {**SHELL, "retries": 0, "name": "fragile"})
    worker = await container.workers.register(
        hostname="h", pid=1, tags=["default"], concurrency=1, version="t"
    )
    [got] = await container.workers.claim(worker.id, limit=1, wait=0)
    await container.workers.complete_one(Completion(got.run_id, got.fence, "failed", error="x"))
    letters = (await api.get("/api/dead-letters", headers=admin)).json()["dead_letters"]
    [dl] = [d for d in letters if d["run_id"] == run["id"]]
    assert (dl["job_name"], dl["one_off"]) == ("fragile", True)
    replayed = await api.post(f"/api/dead-letters/{dl['id']}/replay", headers=admin)
    assert replayed.status_code == 200, replayed.text
    assert (replayed.json()["id"], replayed.json()["status"]) == (run["id"], "queued")
    [again] = await container.workers.claim(worker.id, limit=1, wait=0)
    assert again.run_id == run["id"]
    await container.workers.complete_one(Completion(again.run_id, again.fence, "completed"))
    done = (await api.get(f"/api/runs/{run['id']}", headers=admin)).json()
    assert (done["status"], done["one_off"], len(done["attempts"])) == ("completed", True, 2)
