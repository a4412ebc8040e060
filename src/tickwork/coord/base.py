"""Coordination protocols: locks, the leader lease, and a wake-up bus."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Protocol


class Locks(Protocol):
    async def acquire(self, key: str, token: str, ttl: float) -> bool: ...
    async def release(self, key: str, token: str) -> bool: ...
    async def acquire_many(self, keys: Sequence[str], token: str, ttl: float) -> list[bool]:
        """Each key taken (True) or held by another token (False), in one round trip."""
        ...

    async def release_many(self, keys: Sequence[str], token: str) -> int:
        """Release the keys this token holds, in one round trip; how many were."""
        ...


class LeaderLease(Protocol):
    async def acquire(self, name: str, holder: str, ttl: float) -> int | None:
        """Become or stay leader; the fencing token while leader (it only grows), else None."""
        ...

    async def release(self, name: str, holder: str) -> None: ...


class Subscription:
    """Messages for one topic, delivered to one local listener."""

    def __init__(self, topic: str) -> None:
        self.topic = topic
        self.queue: asyncio.Queue[str] = asyncio.Queue(maxsize=10_000)

    def deliver(self, message: str) -> None:
        if self.queue.full():  # a slow listener loses the oldest wake-ups, never blocks others
            self.queue.get_nowait()
        self.queue.put_nowait(message)

    async def wait(self, seconds: float) -> str | None:
        # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancellation
        # that arrives as the message does, and a loop around it would never stop.
        try:
            async with asyncio.timeout(seconds):
                return await self.queue.get()
        except TimeoutError:
            return None

    def drain(self) -> list[str]:
        out: list[str] = []
        while not self.queue.empty():
            out.append(self.queue.get_nowait())
        return out


class Bus(Protocol):
    async def publish(self, topic: str, message: str = "") -> None: ...
    def subscribe(self, topic: str) -> AbstractAsyncContextManager[Subscription]: ...


class RateCounter(Protocol):
    async def hit(self, name: str, window: int) -> int:
        """Count one hit of ``name`` in the second ``window`` (epoch seconds); the hits so
        far in it, this one included."""
        ...


class Coordination(Protocol):
    locks: Locks
    leader: LeaderLease
    bus: Bus
    rates: RateCounter

    async def start(self) -> None: ...
    async def stop(self) -> None: ...
    async def ping(self) -> bool: ...


class LocalSubscribers:
    """Fan-out of published messages to this process's subscriptions."""

    def __init__(self) -> None:
        self._subs: dict[str, set[Subscription]] = {}

    def dispatch(self, topic: str, message: str) -> None:
        for sub in list(self._subs.get(topic, ())):
            sub.deliver(message)

    async def listen(self, topic: str) -> AsyncIterator[Subscription]:
        sub = Subscription(topic)
        self._subs.setdefault(topic, set()).add(sub)
        try:
            yield sub
        finally:
            subs = self._subs.get(topic)
            if subs is not None:
                subs.discard(sub)
                if not subs:
                    del self._subs[topic]

    def topics(self) -> list[str]:
        return list(self._subs)
