"""One suite for both coordination backends: in-process and a real Redis."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from tickwork.coord.local import LocalCoordination
from tickwork.coord.redis import RedisCoordination


@pytest.fixture(params=["local", "redis"])
async def coord(request: pytest.FixtureRequest) -> AsyncIterator[object]:
    if request.param == "local":
        c: object = LocalCoordination()
    else:
        prefix = request.getfixturevalue("redis_prefix")
        c = RedisCoordination(request.getfixturevalue("redis_url"), prefix)
    await c.start()  # type: ignore[attr-defined]
    yield c
    await c.stop()  # type: ignore[attr-defined]


async def test_lock_is_exclusive_until_released(coord: object) -> None:
    locks = coord.locks  # type: ignore[attr-defined]
    assert await locks.acquire("run:r1:1", "w1", 5)
    assert not await locks.acquire("run:r1:1", "w2", 5)
    assert await locks.acquire("run:r1:2", "w2", 5)  # a new fence is a new lock
    assert not await locks.release("run:r1:1", "w2")  # only the holder releases
    assert await locks.release("run:r1:1", "w1")
    assert await locks.acquire("run:r1:1", "w2", 5)


async def test_locks_taken_and_released_many_at_once(coord: object) -> None:
    locks = coord.locks  # type: ignore[attr-defined]
    assert await locks.acquire("run:b:1", "w2", 5)
    taken = await locks.acquire_many(["run:a:1", "run:b:1", "run:c:1"], "w1", 5)
    assert taken == [True, False, True]  # b is w2's
    assert await locks.acquire_many([], "w1", 5) == []
    assert await locks.release_many(["run:a:1", "run:b:1", "run:c:1"], "w1") == 2
    assert not await locks.release("run:a:1", "w1")  # gone
    assert await locks.release("run:b:1", "w2")  # w2's lock was left alone
    assert await locks.release_many([], "w1") == 0


async def test_lock_expires_with_its_ttl(coord: object) -> None:
    locks = coord.locks  # type: ignore[attr-defined]
    assert await locks.acquire("short", "w1", 0.05)
    deadline = asyncio.get_running_loop().time() + 2
    while not await locks.acquire("short", "w2", 5):
        assert asyncio.get_running_loop().time() < deadline, "lock never expired"
        await asyncio.sleep(0.02)


async def test_leader_lease_fences_grow_per_new_term(coord: object) -> None:
    leader = coord.leader  # type: ignore[attr-defined]
    first = await leader.acquire("sched", "a", 5)
    assert first is not None
    assert await leader.acquire("sched", "a", 5) == first  # renewal keeps the term
    assert await leader.acquire("sched", "b", 5) is None
    await leader.release("sched", "a")
    second = await leader.acquire("sched", "b", 5)
    assert second is not None and second > first


async def test_bus_delivers_to_subscribers_of_the_topic(coord: object) -> None:
    bus = coord.bus  # type: ignore[attr-defined]
    async with bus.subscribe("runs") as runs, bus.subscribe("other") as other:
        await bus.publish("runs", "hello")
        assert await runs.wait(5) == "hello"
        assert await other.wait(0.05) is None


async def test_two_redis_clients_share_leadership_and_messages(
    redis_url: str, redis_prefix: str
) -> None:
    one = RedisCoordination(redis_url, redis_prefix)
    two = RedisCoordination(redis_url, redis_prefix)
    await one.start()
    await two.start()
    try:
        assert await one.leader.acquire("sched", "one", 5) is not None
        assert await two.leader.acquire("sched", "two", 5) is None
        async with two.bus.subscribe("events") as sub:
            await one.bus.publish("events", "42")
            assert await sub.wait(5) == "42"
    finally:
        await one.stop()
        await two.stop()
