"""Requests per second per token: a token's own rate_limit, else TICKWORK_API_RATE_LIMIT,
shared by two coordinators through Redis (in-process without it); 429 rate_limited with
Retry-After; the worker protocol is held only by its token's own limit."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tickwork.api.app import create_app
from tickwork.config import Settings
from tickwork.domain.clock import FakeClock
from tickwork.service.container import Container


async def coordinators(
    settings: Settings, clock: FakeClock, n: int = 2
) -> list[tuple[Container, httpx.AsyncClient]]:
    out = []
    for _ in range(n):
        c = Container(settings, clock=clock)
        await c.start(background=False)
        transport = httpx.ASGITransport(app=create_app(c, manage_lifecycle=False))
        out.append((c, httpx.AsyncClient(transport=transport, base_url="http://localhost")))
    return out


@pytest.fixture
async def shared(
    sqlite_url: str, redis_url: str, redis_prefix: str, clock: FakeClock
) -> AsyncIterator[list[tuple[Container, httpx.AsyncClient]]]:
    settings = Settings(
        database_url=sqlite_url,
        redis_url=redis_url,
        redis_prefix=redis_prefix,
        auth=True,
        api_rate_limit=4,
    )
    pair = await coordinators(settings, clock)
    yield pair
    for c, client in pair:
        await client.aclose()
        await c.stop()


async def token(c: Container, **how: Any) -> dict[str, str]:
    _, secret = await c.tokens.create(name=f"t{len(how)}", role=how.pop("role", "viewer"), **how)
    return {"Authorization": f"Bearer {secret}"}


async def burst(
    pair: list[tuple[Container, httpx.AsyncClient]], headers: dict[str, str], n: int
) -> list[httpx.Response]:
    calls = [pair[i % 2][1].get("/api/jobs", headers=headers) for i in range(n)]
    return list(await asyncio.gather(*calls))


async def test_a_tokens_rate_holds_over_two_coordinators(
    shared: list[tuple[Container, httpx.AsyncClient]], clock: FakeClock
) -> None:
    (c, api), _ = shared
    headers = await token(c, rate_limit=6)
    replies = await burst(shared, headers, 20)
    assert sorted(r.status_code for r in replies) == [200] * 6 + [429] * 14
    refused = next(r for r in replies if r.status_code == 429)
    assert refused.headers["Retry-After"] == "1"
    error = refused.json()["error"]
    assert error["code"] == "rate_limited"
    assert error["details"] == {"retry_after": 1, "limit": 6, "per": "1s"}
    clock.advance(1)
    assert [r.status_code for r in await burst(shared, headers, 2)] == [200, 200]
    metrics = (await api.get("/metrics", headers=headers)).text
    assert 'tickwork_rate_limited_total{kind="api"}' in metrics


async def test_the_server_default_holds_a_token_without_its_own(
    shared: list[tuple[Container, httpx.AsyncClient]], clock: FakeClock
) -> None:
    (c, _), _ = shared
    headers = await token(c)
    replies = await burst(shared, headers, 10)
    assert sorted(r.status_code for r in replies) == [200] * 4 + [429] * 6
    other = await token(c, role="operator")  # each token has its own count
    assert all(r.status_code == 200 for r in await burst(shared, other, 4))


async def test_the_worker_protocol_is_not_held_by_the_default(
    shared: list[tuple[Container, httpx.AsyncClient]],
) -> None:
    (c, api), (_, other) = shared
    headers = await token(c, role="worker")
    body = {"hostname": "h", "pid": 1, "tags": ["default"], "concurrency": 1, "version": "t"}
    r = await api.post("/api/workers", json=body, headers=headers)
    assert r.status_code == 201, r.text
    wid = r.json()["id"]
    beats = [
        (api if i % 2 else other).post(f"/api/workers/{wid}/heartbeat", json={}, headers=headers)
        for i in range(12)
    ]
    assert all(r.status_code == 200 for r in await asyncio.gather(*beats))


async def test_without_redis_each_coordinator_counts_alone(
    sqlite_url: str, clock: FakeClock
) -> None:
    settings = Settings(database_url=sqlite_url, auth=True)
    pair = await coordinators(settings, clock)
    try:
        headers = await token(pair[0][0], rate_limit=3)
        replies = await burst(pair, headers, 12)
        assert sorted(r.status_code for r in replies) == [200] * 6 + [429] * 6
    finally:
        for c, client in pair:
            await client.aclose()
            await c.stop()
