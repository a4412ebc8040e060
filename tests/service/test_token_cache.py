"""A coordinator looks a token up once per ``token_cache_seconds``, not once per request;
expiry stays exact, and a revocation stops the token at once on every coordinator sharing
the bus (each drops it from its cache)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from tickwork.config import Settings
from tickwork.domain.clock import FakeClock
from tickwork.domain.errors import Unauthorized
from tickwork.domain.records import TokenRecord
from tickwork.service.container import Container


@pytest.fixture
async def pair(
    pg_database: str, redis_url: str, redis_prefix: str, clock: FakeClock
) -> AsyncIterator[tuple[Container, Container]]:
    """Two coordinators on one database and one Redis."""
    made = []
    for _ in range(2):
        settings = Settings(
            database_url=pg_database,
            redis_url=redis_url,
            redis_prefix=redis_prefix,
            auth=True,
            token_cache_seconds=30,
        )
        c = Container(settings, clock=clock)
        await c.start(background=False)
        c.tokens.start()  # the revocation listener (background=False starts no loops)
        made.append(c)
    yield made[0], made[1]
    for c in made:
        await c.stop()


def count_lookups(c: Container, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    seen: list[str] = []
    real = c.store.tokens.by_digest

    async def by_digest(digest: str) -> TokenRecord | None:
        seen.append(digest)
        return await real(digest)

    monkeypatch.setattr(c.store.tokens, "by_digest", by_digest)
    return seen


async def test_a_token_is_looked_up_once_per_interval(
    pair: tuple[Container, Container], monkeypatch: pytest.MonkeyPatch
) -> None:
    a, _ = pair
    _, secret = await a.tokens.create(name="ci", role="operator")
    seen = count_lookups(a, monkeypatch)
    for _ in range(20):
        assert (await a.tokens.authenticate(secret)).name == "ci"
    assert len(seen) == 1
    with pytest.raises(Unauthorized):  # unknown tokens are never kept
        await a.tokens.authenticate("tw_unknown")
    with pytest.raises(Unauthorized):
        await a.tokens.authenticate("tw_unknown")
    assert len(seen) == 3


async def test_no_cache_looks_up_every_time(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    c = Container(Settings(database_url=sqlite_url, auth=True, token_cache_seconds=0))
    await c.start(background=False)
    try:
        _, secret = await c.tokens.create(name="ci", role="viewer")
        seen = count_lookups(c, monkeypatch)
        for _ in range(3):
            await c.tokens.authenticate(secret)
        assert len(seen) == 3
    finally:
        await c.stop()


async def test_expiry_is_exact_while_cached(
    pair: tuple[Container, Container], clock: FakeClock
) -> None:
    a, _ = pair
    _, secret = await a.tokens.create(name="short", role="viewer", expires_in=timedelta(seconds=5))
    await a.tokens.authenticate(secret)
    clock.advance(6)
    with pytest.raises(Unauthorized, match="expired"):
        await a.tokens.authenticate(secret)


async def test_a_revocation_reaches_every_coordinator_at_once(
    pair: tuple[Container, Container],
) -> None:
    a, b = pair
    record, secret = await a.tokens.create(name="leaving", role="operator")
    await a.tokens.authenticate(secret)
    await b.tokens.authenticate(secret)  # both now trust it for 30 s
    await a.tokens.revoke(record.id)
    with pytest.raises(Unauthorized, match="revoked"):
        await a.tokens.authenticate(secret)
    async with asyncio.timeout(5):  # the announcement crosses Redis
        while True:
            try:
                await b.tokens.authenticate(secret)
            except Unauthorized as exc:
                assert "revoked" in exc.message
                break
            await asyncio.sleep(0.01)
