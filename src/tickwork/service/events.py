"""The event relay: reads the outbox once per coordinator and fans events out to listeners.

The database gives order and catch-up; the bus (Redis pub/sub in production) only says
"look now", so a listener on any coordinator sees every event, in order, quickly.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from tickwork.coord.base import Bus
from tickwork.domain.runs import Event
from tickwork.store.sql import SqlStore

from .background import BackgroundService
from .notify import EVENTS

GAP_PATIENCE = 2.0  # seconds to wait for an id left behind by a transaction still committing


class EventRelay(BackgroundService):
    name = "events"

    def __init__(self, store: SqlStore, bus: Bus, interval: float = 1.0) -> None:
        super().__init__(interval)
        self.store = store
        self.bus = bus
        self._listeners: set[asyncio.Queue[Event]] = set()
        self._cursor: int | None = None
        self._delivered: set[int] = set()
        self._gap_since: float | None = None
        self._waker: asyncio.Task[None] | None = None

    def start(self) -> None:
        super().start()
        self._waker = asyncio.create_task(self._wake_on_bus(), name="tickwork-events-waker")

    async def on_stop(self) -> None:
        if self._waker:
            self._waker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._waker

    async def _wake_on_bus(self) -> None:
        async with self.bus.subscribe(EVENTS) as sub:
            while True:
                if await sub.wait(30) is not None:
                    sub.drain()
                    self.wake()

    @asynccontextmanager
    async def listen(self) -> AsyncIterator[asyncio.Queue[Event]]:
        queue: asyncio.Queue[Event] = asyncio.Queue(maxsize=50_000)
        if self._cursor is None:
            self._cursor = await self.last_id()
        self._listeners.add(queue)
        try:
            yield queue
        finally:
            self._listeners.discard(queue)

    # The reads listeners make are shielded: a listener that leaves (its task cancelled)
    # ends its wait, not the query, so the connection goes back to the pool instead of being
    # torn down in the background.

    async def since(
        self, after: int, *, limit: int = 1000, job_id: str | None = None, run_id: str | None = None
    ) -> list[Event]:
        """Stored events after ``after`` (for clients catching up)."""
        return await asyncio.shield(
            self.store.events_since(after, limit=limit, job_id=job_id, run_id=run_id)
        )

    async def history(
        self,
        *,
        limit: int,
        before: int | None,
        job_id: str | None,
        run_id: str | None,
        types: list[str] | None,
    ) -> list[Event]:
        return await self.store.events_history(
            limit=limit, before=before, job_id=job_id, run_id=run_id, types=types
        )

    async def last_id(self) -> int:
        return await asyncio.shield(self.store.events_last_id())

    async def run_once(self) -> bool:
        if not self._listeners or self._cursor is None:
            self._cursor = None
            return False
        rows = await self.store.events_since(self._cursor, limit=2000)
        for event in rows:
            if event.id not in self._delivered:
                self._delivered.add(event.id)
                self._fan_out(event)
        self._advance(rows)
        return len(rows) >= 2000

    def _fan_out(self, event: Event) -> None:
        for queue in list(self._listeners):
            if queue.full():  # a stalled client is dropped rather than slowing everyone
                self._listeners.discard(queue)
                continue
            queue.put_nowait(event)

    def _advance(self, rows: list[Event]) -> None:
        """Move the cursor over the contiguous ids; wait a little for gaps to fill."""
        assert self._cursor is not None
        expected = self._cursor + 1
        for event in rows:
            if event.id != expected:
                break
            expected += 1
        gap = bool(rows) and expected <= rows[-1].id
        if gap and self._gap_since is None:
            self._gap_since = time.monotonic()
        if (
            gap
            and self._gap_since is not None
            and time.monotonic() - self._gap_since > GAP_PATIENCE
        ):
            expected = rows[-1].id + 1  # the missing id was rolled back: give up on it
            gap = False
        if not gap:
            self._gap_since = None
        self._cursor = expected - 1
        self._delivered = {i for i in self._delivered if i > self._cursor}
