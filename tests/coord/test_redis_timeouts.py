"""Redis that stops answering without closing the connection (a host gone from the network)
costs a command its timeout, not the kernel's retransmission time; the subscription, idle
longer than that timeout, is not taken for broken (redis-py's blocking wait for a message
applies no read timeout, which the coordinator relies on)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator

import pytest
import redis.exceptions

from tickwork.coord.redis import RedisCoordination


@pytest.fixture
async def silent_redis() -> AsyncIterator[str]:
    """A server that accepts connections and never answers: the URL of it."""
    held: list[asyncio.StreamWriter] = []

    async def accept(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    yield f"redis://127.0.0.1:{port}/0"
    for w in held:
        w.close()
    server.close()
    await server.wait_closed()


async def test_a_command_to_a_silent_redis_fails_after_its_timeout(silent_redis: str) -> None:
    coord = RedisCoordination(silent_redis, "silent", timeout=0.2)
    started = time.monotonic()
    with pytest.raises((redis.exceptions.TimeoutError, TimeoutError)):
        await asyncio.wait_for(coord.locks.acquire("run:r:1", "w", 5), timeout=10)
    assert time.monotonic() - started < 5
    await coord.client.aclose()


async def test_an_idle_subscription_outlives_the_command_timeout(
    redis_url: str, redis_prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    coord = RedisCoordination(redis_url, redis_prefix, timeout=0.2)
    await coord.start()
    try:
        with caplog.at_level(logging.WARNING, logger="tickwork.coord.redis"):
            async with coord.bus.subscribe("topic") as sub:
                await asyncio.sleep(0.6)  # idle for three command timeouts
                await coord.bus.publish("topic", "hello")
                assert await sub.wait(5) == "hello"
        assert not [r for r in caplog.records if "connection lost" in r.getMessage()]
    finally:
        await coord.stop()
