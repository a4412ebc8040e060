"""Redis coordination: locks (SET NX PX), a fenced leader lease (Lua), pub/sub wake-ups."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import redis.asyncio as aioredis

from tickwork.coord.base import LocalSubscribers, Subscription
from tickwork.coord.keys import Keys

log = logging.getLogger(__name__)

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

_RELEASE_MANY = """
local n = 0
for i, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[1] then n = n + redis.call('DEL', key) end
end
return n
"""

_LEADER = """
local cur = redis.call('GET', KEYS[1])
if cur == false then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return redis.call('INCR', KEYS[2])
elseif cur == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return tonumber(redis.call('GET', KEYS[2]) or '0')
end
return -1
"""


class RedisLocks:
    def __init__(self, client: aioredis.Redis, keys: Keys) -> None:
        self._r = client
        self._keys = keys
        self._release = client.register_script(_RELEASE)
        self._release_many = client.register_script(_RELEASE_MANY)

    async def acquire(self, key: str, token: str, ttl: float) -> bool:
        ok = await self._r.set(self._keys.lock(key), token, nx=True, px=max(1, int(ttl * 1000)))
        return bool(ok)

    async def release(self, key: str, token: str) -> bool:
        return bool(await self._release(keys=[self._keys.lock(key)], args=[token]))

    async def acquire_many(self, keys: Sequence[str], token: str, ttl: float) -> list[bool]:
        if not keys:
            return []
        px = max(1, int(ttl * 1000))
        pipe = self._r.pipeline(transaction=False)
        for key in keys:
            pipe.set(self._keys.lock(key), token, nx=True, px=px)
        return [bool(ok) for ok in await pipe.execute()]

    async def release_many(self, keys: Sequence[str], token: str) -> int:
        if not keys:
            return 0
        return int(await self._release_many(keys=[self._keys.lock(k) for k in keys], args=[token]))


class RedisLeaderLease:
    def __init__(self, client: aioredis.Redis, keys: Keys) -> None:
        self._r = client
        self._keys = keys
        self._script = client.register_script(_LEADER)
        self._release = client.register_script(_RELEASE)

    async def acquire(self, name: str, holder: str, ttl: float) -> int | None:
        token = await self._script(
            keys=[self._keys.leader(name), self._keys.leader_fence(name)],
            args=[holder, max(1, int(ttl * 1000))],
        )
        return None if int(token) < 0 else int(token)

    async def release(self, name: str, holder: str) -> None:
        await self._release(keys=[self._keys.leader(name)], args=[holder])


class RedisBus:
    """Publishes on Redis channels; one pattern subscription per process fans out locally."""

    def __init__(self, client: aioredis.Redis, keys: Keys) -> None:
        self._r = client
        self._keys = keys
        self._subs = LocalSubscribers()
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._listen(), name="tickwork-redis-bus")
        await asyncio.wait_for(self._ready.wait(), timeout=10)

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _listen(self) -> None:
        while True:
            try:
                await self._listen_once()
            except asyncio.CancelledError:
                raise
            except Exception:  # Redis restarted or the connection broke: resubscribe
                log.warning("redis pub/sub connection lost; resubscribing", exc_info=True)
                self._wake_all()
                await asyncio.sleep(0.5)

    async def _listen_once(self) -> None:
        pubsub: Any = self._r.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.psubscribe(self._keys.channel_pattern)
            self._ready.set()
            async for msg in pubsub.listen():
                if msg.get("type") == "pmessage":
                    channel = msg["channel"]
                    channel = channel.decode() if isinstance(channel, bytes) else channel
                    data = msg["data"]
                    data = data.decode() if isinstance(data, bytes) else str(data)
                    self._subs.dispatch(self._keys.topic_of(channel), data)
        finally:
            await pubsub.aclose()

    def _wake_all(self) -> None:
        """After a gap in delivery, every listener re-checks the database."""
        for topic in self._subs.topics():
            self._subs.dispatch(topic, "")

    async def publish(self, topic: str, message: str = "") -> None:
        await self._r.publish(self._keys.channel(topic), message)

    @asynccontextmanager
    async def subscribe(self, topic: str) -> AsyncIterator[Subscription]:
        async for sub in self._subs.listen(topic):
            yield sub


class RedisRates:
    """Hits per name and second, shared by every coordinator: INCR and EXPIRE in one
    round trip (a second's key outlives it by one second, then goes)."""

    def __init__(self, client: aioredis.Redis, keys: Keys) -> None:
        self._r = client
        self._keys = keys

    async def hit(self, name: str, window: int) -> int:
        key = self._keys.rate(name, window)
        async with self._r.pipeline(transaction=False) as pipe:
            pipe.incr(key)
            pipe.expire(key, 2)
            count, _ = await pipe.execute()
        return int(count)


TIMEOUT = 2.0
"""Seconds a Redis command (or a connection) may take. Without one, a Redis host gone from
the network (no reset) held every command for the kernel's retransmission time, about
15 minutes: each report's wake-up publish with it, and so the whole run path."""


def _keepalive() -> dict[int, int]:
    """TCP keepalive probes that find a silent peer in about 25 s (after 10 s idle, then
    every 5 s, 3 tries), where the platform lets them be set: the subscription waits for
    messages without a read timeout, and a dead peer ends it this way (then it resubscribes
    and every listener looks at the database again)."""
    wanted = {"TCP_KEEPIDLE": 10, "TCP_KEEPINTVL": 5, "TCP_KEEPCNT": 3}
    return {getattr(socket, k): v for k, v in wanted.items() if hasattr(socket, k)}


class RedisCoordination:
    """Redis for locks, the leader lease, rates and wake-ups. A command times out after
    ``timeout`` seconds, and its caller falls back (the fence alone protects a run, claims
    poll, a lease not renewed lapses); the subscription's blocking wait has no timeout."""

    def __init__(self, url: str, prefix: str = "tickwork", timeout: float = TIMEOUT) -> None:
        self.client: aioredis.Redis = aioredis.from_url(
            url,
            health_check_interval=10,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            socket_keepalive=True,
            socket_keepalive_options=_keepalive(),
        )
        keys = Keys(prefix)
        self.locks = RedisLocks(self.client, keys)
        self.leader = RedisLeaderLease(self.client, keys)
        self.bus = RedisBus(self.client, keys)
        self.rates = RedisRates(self.client, keys)

    async def start(self) -> None:
        await self.client.ping()
        await self.bus.start()

    async def stop(self) -> None:
        await self.bus.stop()
        await self.client.aclose()

    async def ping(self) -> bool:
        return bool(await self.client.ping())


def create_coordination(redis_url: str | None, prefix: str = "tickwork") -> Any:
    if redis_url:
        return RedisCoordination(redis_url, prefix)
    from tickwork.coord.local import LocalCoordination

    return LocalCoordination()
