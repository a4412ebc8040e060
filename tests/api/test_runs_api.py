"""Triggers, idempotency, bulk runs, run reads, cancel and retry through the API."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from tickwork.api.app import create_app
from tickwork.config import Settings
from tickwork.domain.clock import FakeClock
from tickwork.service.container import Container
from tickwork.testing import job_payload


async def test_trigger_idempotency_key_header(api: httpx.AsyncClient) -> None:
    await api.post("/api/jobs", json=job_payload("idem", on_overlap="queue"))
    a = (await api.post("/api/jobs/idem/trigger", headers={"Idempotency-Key": "k-1"})).json()
    b = (await api.post("/api/jobs/idem/trigger", headers={"Idempotency-Key": "k-1"})).json()
    c = (await api.post("/api/jobs/idem/trigger", json={"parameters": {"x": 1}})).json()
    assert a["run_id"] == b["run_id"] and a["created"] and not b["created"]
    assert c["run_id"] != a["run_id"]
    run = (await api.get(f"/api/runs/{c['run_id']}")).json()
    assert run["parameters"] == {"x": 1} and run["attempts"] == []
    assert run["trigger"] == "manual" and run["status"] == "queued"


async def test_unknown_things_are_404(api: httpx.AsyncClient) -> None:
    for path in ("/api/jobs/nope", "/api/runs/run-nope", "/api/jobs/nope/trigger"):
        r = await (api.post(path) if path.endswith("trigger") else api.get(path))
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


async def test_bulk_enqueues_ten_thousand_in_one_request(api: httpx.AsyncClient) -> None:
    await api.post("/api/jobs", json=job_payload("bulk"))
    body = {
        "runs": [
            {"job": "bulk", "parameters": {"i": i}, "idempotency_key": f"b-{i}"}
            for i in range(10_000)
        ]
    }
    big = await api.post("/api/runs/bulk", json=body)
    assert big.status_code == 202, big.text[:300]
    assert big.json()["created"] == 10_000
    again = await api.post("/api/runs/bulk", json={"runs": body["runs"][:10]})
    assert again.json()["created"] == 0
    assert [x["run_id"] for x in again.json()["runs"]] == [
        x["run_id"] for x in big.json()["runs"][:10]
    ]
    assert (await api.get("/api/runs", params={"job": "bulk"})).json()["total"] == 10_000
    too_many = await api.post("/api/runs/bulk", json={"runs": [{"job": "bulk"}] * 10_001})
    assert too_many.status_code in (413, 422)
    unknown = await api.post("/api/runs/bulk", json={"runs": [{"job": "ghost"}]})
    assert unknown.status_code == 422 and "ghost" in unknown.json()["error"]["message"]


@pytest.fixture
def settings(sqlite_url: str) -> Settings:  # bulk needs a body larger than 64 KiB
    return Settings(database_url=sqlite_url)


async def test_cancel_queued_and_retry(api: httpx.AsyncClient) -> None:
    await api.post("/api/jobs", json=job_payload("cx"))
    run_id = (await api.post("/api/jobs/cx/trigger")).json()["run_id"]
    r = await api.post(f"/api/runs/{run_id}/cancel")
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    again = await api.post(f"/api/runs/{run_id}/cancel")
    assert again.status_code == 409
    retried = await api.post(f"/api/runs/{run_id}/retry")
    assert retried.json()["status"] == "queued"
    assert (await api.post(f"/api/runs/{run_id}/retry")).status_code == 409


async def test_runs_filters(api: httpx.AsyncClient, clock: FakeClock) -> None:
    await api.post("/api/jobs", json=job_payload("f1", on_overlap="queue"))
    for _ in range(3):
        await api.post("/api/jobs/f1/trigger")
        clock.advance(60)
    page = (await api.get("/api/runs", params={"since": "2026-01-15T12:00:30Z"})).json()
    assert page["total"] == 2
    page = (await api.get("/api/runs", params={"status": "queued", "limit": 1})).json()
    assert page["total"] == 3 and page["next_cursor"]
    nxt = (
        await api.get(
            "/api/runs", params={"status": "queued", "limit": 1, "cursor": page["next_cursor"]}
        )
    ).json()
    assert nxt["runs"][0]["id"] != page["runs"][0]["id"]
    bad = await api.get("/api/runs", params={"status": "weird"})
    assert bad.status_code == 422


async def test_runs_since_may_be_relative_and_lists_sort(
    api: httpx.AsyncClient, clock: FakeClock
) -> None:
    await api.post("/api/jobs", json=job_payload("rel", on_overlap="queue"))
    for _ in range(3):
        await api.post("/api/jobs/rel/trigger")
        clock.advance(3600)
    assert (await api.get("/api/runs", params={"since": "-90m"})).json()["total"] == 1
    assert (await api.get("/api/runs", params={"since": "-1d"})).json()["total"] == 3
    assert (await api.get("/api/runs", params={"until": "-150m"})).json()["total"] == 1
    for bad, field in (
        ({"since": "yesterday"}, "since"),
        ({"since": "2026-01-15T12:00:00"}, "since"),
        ({"until": "-5y"}, "until"),
        ({"sort": "name"}, "sort"),
        ({"order": "up"}, "order"),
    ):
        answer = await api.get("/api/runs", params=bad)
        assert answer.status_code == 422 and answer.json()["error"]["details"][0]["field"] == field
    oldest = (await api.get("/api/runs", params={"sort": "queued_at", "order": "asc"})).json()
    newest = (await api.get("/api/runs")).json()
    assert [r["id"] for r in oldest["runs"]] == [r["id"] for r in reversed(newest["runs"])]
    by_start = await api.get("/api/runs", params={"sort": "started_at", "order": "asc"})
    assert by_start.status_code == 200 and by_start.json()["total"] == 3


@pytest.fixture
async def pg_api(pg_database: str, clock: FakeClock) -> AsyncIterator[httpx.AsyncClient]:
    c = Container(Settings(database_url=pg_database), clock=clock)
    await c.start(background=False)
    transport = httpx.ASGITransport(app=create_app(c, manage_lifecycle=False))
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
        yield client
    await c.stop()


async def test_fifty_concurrent_triggers_make_one_run_on_postgres(
    pg_api: httpx.AsyncClient,
) -> None:
    await pg_api.post("/api/jobs", json=job_payload("once-only"))
    replies = await asyncio.gather(*(pg_api.post("/api/jobs/once-only/trigger") for _ in range(50)))
    assert all(r.status_code == 202 for r in replies)
    assert len({r.json()["run_id"] for r in replies}) == 1
    assert sum(r.json()["created"] for r in replies) == 1
    assert (await pg_api.get("/api/runs")).json()["total"] == 1


async def test_skipped_ticks_are_listed_with_their_reason(
    api: httpx.AsyncClient, container: Container, clock: FakeClock
) -> None:
    await api.post("/api/jobs", json=job_payload("hourly", schedule="*/10 * * * *"))
    clock.advance(hours=1)
    await container.scheduler.run_once()
    r = await api.get("/api/events", params={"job": "hourly", "type": "run.skipped"})
    assert r.status_code == 200
    reasons = [e["data"]["reason"] for e in r.json()]
    assert len(reasons) == 5 and all("catchup=latest" in x for x in reasons)
    ticks = [e["data"]["scheduled_for"] for e in r.json()]
    assert ticks == sorted(ticks, reverse=True)  # newest first
    older = await api.get("/api/events", params={"before": r.json()[-1]["id"], "limit": 500})
    assert all(e["id"] < r.json()[-1]["id"] for e in older.json())


async def test_dead_letters_open_handled_and_all(
    api: httpx.AsyncClient, container: Container, clock: FakeClock
) -> None:
    await api.post("/api/jobs", json=job_payload("dl", retries=0))
    run_id = (await api.post("/api/jobs/dl/trigger")).json()["run_id"]
    wid = (await api.post("/api/workers", json={"hostname": "h", "pid": 1})).json()["id"]
    claimed = (await api.post(f"/api/workers/{wid}/claim", json={"limit": 1})).json()
    fence = claimed["assignments"][0]["fence"]
    done = {"fence": fence, "status": "failed", "exit_code": 2, "error": "exit code 2"}
    assert (await api.post(f"/api/runs/{run_id}/complete", json=done)).status_code == 200
    stale = await api.post(f"/api/runs/{run_id}/complete", json={**done, "fence": fence + 1})
    assert stale.status_code == 409 and stale.json()["error"]["code"] == "stale_fence"
    open_ = (await api.get("/api/dead-letters")).json()
    assert open_["total"] == 1 and open_["dead_letters"][0]["error"] == "exit code 2"
    await api.post(f"/api/dead-letters/{open_['dead_letters'][0]['id']}/resolve")
    assert (await api.get("/api/dead-letters")).json()["total"] == 0
    assert (await api.get("/api/dead-letters", params={"resolved": "true"})).json()["total"] == 1
    assert (await api.get("/api/dead-letters", params={"resolved": "all"})).json()["total"] == 1
