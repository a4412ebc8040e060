"""Quotas and rate limits over the API, on SQLite and PostgreSQL, with two coordinators (two
app instances on one database and one Redis): 100 concurrent triggers never pass a quota,
429 bodies name the quota, its limit and its use; runs over the running quota or a rate
limit wait and start later, in order, none lost; a scheduled tick over the running quota
fires late, not never."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tickwork.api.app import create_app
from tickwork.config import Settings
from tickwork.domain.clock import FakeClock
from tickwork.domain.runs import Assignment, Completion
from tickwork.service.container import Container
from tickwork.testing import job_payload

ADMIN = {"Authorization": "Bearer x"}


@pytest.fixture
def settings(db_url: str, redis_url: str, redis_prefix: str) -> Settings:
    return Settings(database_url=db_url, redis_url=redis_url, redis_prefix=redis_prefix, auth=False)


@pytest.fixture
async def pair(
    settings: Settings, clock: FakeClock
) -> AsyncIterator[list[tuple[Container, httpx.AsyncClient]]]:
    """Two coordinators on the same database and Redis, each with its own API client."""
    out = []
    async with asyncio.timeout(60):
        for _ in range(2):
            c = Container(settings, clock=clock)
            await c.start(background=False)
            transport = httpx.ASGITransport(app=create_app(c, manage_lifecycle=False))
            client = httpx.AsyncClient(transport=transport, base_url="http://localhost")
            out.append((c, client))
    yield out
    for c, client in out:
        await client.aclose()
        await c.stop()


async def put_quotas(api: httpx.AsyncClient, ns: str, **quotas: Any) -> dict[str, Any]:
    r = await api.put(f"/api/namespaces/{ns}/quotas", json=quotas)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def create(api: httpx.AsyncClient, name: str, **fields: Any) -> str:
    r = await api.post("/api/jobs", json=job_payload(name, **fields))
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def trigger_from_both(
    pair: list[tuple[Container, httpx.AsyncClient]], job: str, n: int
) -> list[httpx.Response]:
    calls = [pair[i % 2][1].post(f"/api/jobs/{job}/trigger") for i in range(n)]
    return list(await asyncio.gather(*calls))


async def claim_from_both(
    pair: list[tuple[Container, httpx.AsyncClient]], workers: list[str], limit: int = 50
) -> list[Assignment]:
    """Both coordinators claim at once, for their own worker."""
    got = await asyncio.gather(
        *(c.workers.claim(w, limit=limit, wait=0) for (c, _), w in zip(pair, workers, strict=True))
    )
    return [a for batch in got for a in batch]


async def workers_of(pair: list[tuple[Container, httpx.AsyncClient]]) -> list[str]:
    out = []
    for c, _ in pair:
        w = await c.workers.register(
            hostname="h", pid=1, tags=["default"], concurrency=100, version="t"
        )
        out.append(w.id)
    return out


async def finish(c: Container, got: list[Assignment]) -> None:
    for a in got:
        await c.workers.complete_one(Completion(a.run_id, a.fence, "completed"))


async def test_quotas_are_set_by_an_admin_and_shown_with_their_use(
    pair: list[tuple[Container, httpx.AsyncClient]],
) -> None:
    (_, api), _ = pair
    await create(api, "a", namespace="payments", on_overlap="allow")
    body = await put_quotas(
        api,
        "payments",
        max_jobs=5,
        max_queued=10,
        max_running=2,
        tag_rate_limits={"smtp": {"max": 3, "per": "1m"}},
    )
    assert body["quotas"]["max_jobs"] == 5 and body["quotas"]["runs_per_hour"] is None
    assert body["quotas"]["tag_rate_limits"] == {"smtp": {"max": 3, "per": "1m"}}
    assert {u["quota"]: (u["used"], u["limit"]) for u in body["usage"]} == {
        "max_jobs": (1, 5),
        "max_queued": (0, 10),
        "max_running": (0, 2),
    }
    await api.post("/api/jobs/a/trigger?namespace=payments")
    listed = (await api.get("/api/namespaces")).json()["namespaces"]
    [pay] = [n for n in listed if n["name"] == "payments"]
    assert {u["quota"]: u["used"] for u in pay["usage"]}["max_queued"] == 1
    [default] = [n for n in listed if n["name"] == "default"]
    assert default["usage"] == [] and default["quotas"]["max_jobs"] is None
    bad = await api.put("/api/namespaces/payments/quotas", json={"max_running": 0})
    assert bad.status_code == 422 and bad.json()["error"]["details"][0]["field"] == "max_running"
    bad = await api.put(
        "/api/namespaces/payments/quotas", json={"tag_rate_limits": {"x": {"max": 1, "per": "1"}}}
    )
    assert bad.status_code == 422, bad.text
    assert bad.json()["error"]["details"][0]["field"] == "tag_rate_limits.x.per"


async def test_100_concurrent_triggers_from_two_coordinators_keep_max_queued(
    pair: list[tuple[Container, httpx.AsyncClient]],
) -> None:
    (c, api), _ = pair
    await create(api, "burst", namespace="payments", on_overlap="allow")
    await put_quotas(api, "payments", max_queued=30)
    job = (await api.get("/api/jobs/burst?namespace=payments")).json()["id"]
    replies = await trigger_from_both(pair, job, 100)
    made = [r for r in replies if r.status_code == 202]
    refused = [r for r in replies if r.status_code == 429]
    assert len(made) == 30 and len(refused) == 70, {r.status_code for r in replies}
    error = refused[0].json()["error"]
    assert error["code"] == "quota_exceeded"
    assert error["details"] | {"used": 30} == {
        "namespace": "payments",
        "quota": "max_queued",
        "limit": 30,
        "used": 30,
        "requested": 1,
    }
    assert "max_queued" in error["message"]
    assert refused[0].headers["Retry-After"] == "1"
    runs = (await api.get("/api/runs", params={"namespace": "payments"})).json()
    assert runs["total"] == 30
    metrics = (await api.get("/metrics")).text + (await pair[1][1].get("/metrics")).text
    counted = sum(
        float(line.rsplit(" ", 1)[1])
        for line in metrics.splitlines()
        if line.startswith('tickwork_quota_refusals_total{namespace="payments",quota="max_queued"')
    )
    assert counted == 70
    over = await api.post("/api/runs/bulk", json={"runs": [{"job": job}]})
    assert over.status_code == 429 and over.json()["error"]["details"]["quota"] == "max_queued"
    assert (await api.get("/api/runs", params={"namespace": "payments"})).json()["total"] == 30
    assert c is not None


async def test_max_jobs_refuses_a_create(pair: list[tuple[Container, httpx.AsyncClient]]) -> None:
    (_, api), (_, other) = pair
    await put_quotas(api, "payments", max_jobs=1)
    await create(api, "one", namespace="payments")
    r = await other.post("/api/jobs", json=job_payload("two", namespace="payments"))
    assert r.status_code == 429, r.text
    assert r.json()["error"]["details"]["quota"] == "max_jobs"
    assert (await api.get("/api/jobs/two?namespace=payments")).status_code == 404


async def test_the_running_quota_holds_across_two_coordinators(
    pair: list[tuple[Container, httpx.AsyncClient]],
) -> None:
    """100 runs, max_running 5: claims from both coordinators at once never hold more than
    5 running; each run waits ("waiting for quota") and all 100 run in the end."""
    (c, api), _ = pair
    job = await create(api, "wide", namespace="payments", on_overlap="allow")
    await put_quotas(api, "payments", max_running=5)
    assert all(r.status_code == 202 for r in await trigger_from_both(pair, job, 100))
    workers = await workers_of(pair)
    started: list[str] = []
    while len(started) < 100:
        got = await claim_from_both(pair, workers)
        assert 0 < len(got) <= 5
        if len(started) == 0:
            queued = (
                await api.get("/api/runs", params={"namespace": "payments", "status": "queued"})
            ).json()["runs"][0]
            detail = (await api.get(f"/api/runs/{queued['id']}")).json()
            assert detail["waiting"] == "waiting for quota: max_running (5 of 5 running)"
        started += [a.run_id for a in got]
        await finish(c, got)
    assert len(set(started)) == 100


async def test_a_job_rate_limit_holds_across_two_coordinators(
    pair: list[tuple[Container, httpx.AsyncClient]], clock: FakeClock
) -> None:
    """100 triggers from both coordinators, rate_limit 10 per minute: claims from both at
    once start 10 a minute, in their order, none lost."""
    (c, api), _ = pair
    job = await create(api, "paced", on_overlap="allow", rate_limit={"max": 10, "per": "1m"})
    replies = await trigger_from_both(pair, job, 100)
    assert all(r.status_code == 202 for r in replies)
    workers = await workers_of(pair)
    started: list[str] = []
    for minute in range(10):
        got = await claim_from_both(pair, workers)
        assert len(got) == 10, minute
        again = await claim_from_both(pair, workers)
        assert again == []
        if minute == 0:
            waiting = (await api.get("/api/runs", params={"status": "queued"})).json()["runs"]
            detail = (await api.get(f"/api/runs/{waiting[0]['id']}")).json()
            assert detail["waiting"].startswith("waiting for rate limit: job "), detail
        started += [a.run_id for a in got]
        await finish(c, got)
        clock.advance(60.5)
    assert len(set(started)) == 100
    metrics = (await api.get("/metrics")).text + (await pair[1][1].get("/metrics")).text
    assert 'tickwork_rate_limited_total{kind="job"}' in metrics


async def test_a_scheduled_job_over_its_running_quota_fires_late_not_never(
    pair: list[tuple[Container, httpx.AsyncClient]], clock: FakeClock
) -> None:
    (c, api), _ = pair
    await create(api, "hog", namespace="batch", on_overlap="allow")
    await create(api, "tick", namespace="batch", schedule="every 1m")
    await put_quotas(api, "batch", max_running=1)
    workers = await workers_of(pair)
    hog = (await api.post("/api/jobs/hog/trigger?namespace=batch")).json()["run_id"]
    [running] = await claim_from_both(pair, workers)
    assert running.run_id == hog
    clock.advance(61)
    await c.scheduler.run_once()
    queued = (await api.get("/api/runs", params={"namespace": "batch", "status": "queued"})).json()
    # the next tick's run, written ahead (schedule_ahead), waits for its time: not this one
    [tick] = [r for r in queued["runs"] if r["not_before"] is None]
    assert tick["trigger"] == "schedule"
    for _ in range(3):  # later passes and claims: it waits, queued, not dropped
        assert await claim_from_both(pair, workers) == []
        clock.advance(1)
    detail = (await api.get(f"/api/runs/{tick['id']}")).json()
    assert detail["status"] == "queued"
    assert detail["waiting"].startswith("waiting for quota: max_running")
    await finish(c, [running])
    [late] = await claim_from_both(pair, workers)
    assert late.run_id == tick["id"]


async def test_a_run_written_ahead_of_its_tick_counts_for_max_queued_from_its_time(
    pair: list[tuple[Container, httpx.AsyncClient]], clock: FakeClock
) -> None:
    """schedule_ahead (60 s by default): the next minute's run is written now, waiting for
    its time; until then it takes no room under max_queued, and a trigger is admitted."""
    (c, api), _ = pair
    await create(api, "minutely", namespace="batch", schedule="* * * * *", on_overlap="allow")
    await create(api, "manual", namespace="batch", on_overlap="allow")
    await put_quotas(api, "batch", max_queued=1)
    await c.scheduler.run_once()
    queued = (await api.get("/api/runs", params={"namespace": "batch", "status": "queued"})).json()
    [waiting] = queued["runs"]
    assert waiting["not_before"] is not None
    ok = await api.post("/api/jobs/manual/trigger?namespace=batch")
    assert ok.status_code in (200, 201, 202), ok.text
    clock.advance(60)  # the written-ahead run is due: now the queue is full
    refused = await api.post("/api/jobs/manual/trigger?namespace=batch")
    assert refused.status_code == 429, refused.text
