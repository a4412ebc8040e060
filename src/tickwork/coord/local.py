"""In-process coordination for the embedded default (one coordinator process)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from tickwork.coord.base import LocalSubscribers, Subscription


class LocalLocks:
    def __init__(self) -> None:
        self._held: dict[str, tuple[str, float]] = {}

    async def acquire(self, key: str, token: str, ttl: float) -> bool:
        now = time.monotonic()
        held = self._held.get(key)
        if held and held[1] > now and held[0] != token:
            return False
        self._held[key] = (token, now + ttl)
        if len(self._held) > 10_000:
            self._held = {k: v for k, v in self._held.items() if v[1] > now}
        return True

    async def release(self, key: str, token: str) -> bool:
        held = self._held.get(key)
        if held and held[0] == token:
            del self._held[key]
            return True
        return False

    async def acquire_many(self, keys: Sequence[str], token: str, ttl: float) -> list[bool]:
        return [await self.acquire(key, token, ttl) for key in keys]

    async def release_many(self, keys: Sequence[str], token: str) -> int:
        return sum([await self.release(key, token) for key in keys])


class LocalLeaderLease:
    def __init__(self) -> None:
        self._leases: dict[str, tuple[str, float]] = {}
        self._fences: dict[str, int] = {}

    async def acquire(self, name: str, holder: str, ttl: float) -> int | None:
        now = time.monotonic()
        current = self._leases.get(name)
        if current and current[1] > now and current[0] != holder:
            return None
        if not current or current[0] != holder or current[1] <= now:
            self._fences[name] = self._fences.get(name, 0) + 1
        self._leases[name] = (holder, now + ttl)
        return self._fences[name]

    async def release(self, name: str, holder: str) -> None:
        current = self._leases.get(name)
        if current and current[0] == holder:
            del self._leases[name]


class LocalBus:
    def __init__(self) -> None:
        self._subs = LocalSubscribers()

    async def publish(self, topic: str, message: str = "") -> None:
        self._subs.dispatch(topic, message)

    @asynccontextmanager
    async def subscribe(self, topic: str) -> AsyncIterator[Subscription]:
        async for sub in self._subs.listen(topic):
            yield sub


class LocalRates:
    """Hits per name and second, in this process (only the current second is kept)."""

    def __init__(self) -> None:
        self._window = 0
        self._hits: dict[str, int] = {}

    async def hit(self, name: str, window: int) -> int:
        if window != self._window:
            self._window, self._hits = window, {}
        count = self._hits.get(name, 0) + 1
        self._hits[name] = count
        return count


class LocalCoordination:
    def __init__(self) -> None:
        self.locks = LocalLocks()
        self.leader = LocalLeaderLease()
        self.bus = LocalBus()
        self.rates = LocalRates()

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def ping(self) -> bool:
        return True
