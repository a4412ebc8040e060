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
from tickwork.domain.namespaces import NamespaceFilter
from tickwork.domain.runs import Event
from tickwork.store.base import Store

from .background import BackgroundService
from .notify import EVENTS

NAMESPACE_CACHE = 100_000
"""Jobs whose namespace the relay remembers before it starts again."""
GAP_PATIENCE = 2.0  # seconds to wait for an id left behind by a transaction still committing


class RowCursor:
    """Follows the outbox's row ids in order although transactions commit out of order: it
    moves over contiguous ids only, and past a gap once the gap is older than GAP_PATIENCE
    (its transaction rolled back). ``seen`` remembers what was handed on beyond it."""

    def __init__(self, at: int) -> None:
        self.at = at
        self.seen: set[int] = set()
        self._gap_since: float | None = None

    def fresh(self, row_ids: list[int]) -> list[int]:
        """The ids among these not handed on before (they are marked seen)."""
        out = [i for i in row_ids if i > self.at and i not in self.seen]
        self.seen.update(out)
        return out

    def advance(self, row_ids: list[int]) -> None:
        expected = self.at + 1
        for row_id in row_ids:
            if row_id != expected:
                break
            expected += 1
        gap = bool(row_ids) and expected <= row_ids[-1]
        now = time.monotonic()
        if gap and self._gap_since is None:
            self._gap_since = now
        if gap and self._gap_since is not None and now - self._gap_since > GAP_PATIENCE:
            expected = row_ids[-1] + 1  # the missing id was rolled back: give up on it
            gap = False
        if not gap:
            self._gap_since = None
        self.at = expected - 1
        self.seen = {i for i in self.seen if i > self.at}


class EventRelay(BackgroundService):
    name = "events"

    def __init__(self, store: Store, bus: Bus, interval: float = 1.0) -> None:
        super().__init__(interval)
        self.store = store
        self.bus = bus
        self._listeners: set[asyncio.Queue[Event]] = set()
        self._cursor: RowCursor | None = None
        self._waker: asyncio.Task[None] | None = None
        self._namespaces: dict[str, str] = {}  # job id → namespace (a job never moves)

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
            self._cursor = RowCursor(await asyncio.shield(self.store.events.last_row()))
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
            self.store.events.since(after, limit=limit, job_id=job_id, run_id=run_id)
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
        return await self.store.events.history(
            limit=limit, before=before, job_id=job_id, run_id=run_id, types=types
        )

    async def last_id(self) -> int:
        return await asyncio.shield(self.store.events.last_id())

    async def namespaces_of(self, events: list[Event]) -> dict[str, str]:
        """The namespace of each event's job (cached: a job's namespace never changes; a
        deleted job's events name theirs in their data, or stay unknown)."""
        wanted = {e.job_id for e in events if e.job_id and e.job_id not in self._namespaces}
        if wanted:
            if len(self._namespaces) > NAMESPACE_CACHE:
                self._namespaces.clear()
            found = await asyncio.shield(self.store.jobs.namespaces_of(sorted(wanted)))
            self._namespaces.update(found)
        out = {}
        for e in events:
            ns = e.data.get("namespace") if e.type.startswith("job.") else None
            ns = ns if isinstance(ns, str) else self._namespaces.get(e.job_id or "")
            if ns is not None and e.job_id:
                out[e.job_id] = ns
        return out

    async def visible(
        self, events: list[Event], namespaces: NamespaceFilter
    ) -> list[tuple[Event, str | None]]:
        """The events a reader of ``namespaces`` may see, each with its namespace: those of
        jobs in them, and those of no job (workers); an event whose job is gone and whose
        namespace is unknown only to a reader of every namespace."""
        known = await self.namespaces_of(events)
        out: list[tuple[Event, str | None]] = []
        for e in events:
            ns = known.get(e.job_id or "") or _own_namespace(e)
            if (
                (e.job_id is None and ns is None)
                or (ns is not None and namespaces.allows(ns))
                or namespaces.everything
            ):
                out.append((e, ns))
        return out

    async def run_once(self) -> bool:
        if not self._listeners or self._cursor is None:
            self._cursor = None
            return False
        cursor = self._cursor
        batches = await self.store.events.batches_since(cursor.at, limit=BATCH_ROWS)
        fresh = set(cursor.fresh([row_id for row_id, _ in batches]))
        for row_id, events in batches:
            if row_id in fresh:
                for event in events:
                    self._fan_out(event)
        cursor.advance([row_id for row_id, _ in batches])
        return len(batches) >= BATCH_ROWS

    def _fan_out(self, event: Event) -> None:
        for queue in list(self._listeners):
            if queue.full():  # a stalled client is dropped rather than slowing everyone
                self._listeners.discard(queue)
                continue
            queue.put_nowait(event)


def _own_namespace(e: Event) -> str | None:
    """The namespace a job-less event names itself (a queue backlog of one namespace, a
    pipeline's or pipeline run's event)."""
    own = e.type == "queue.backlog" or e.type.startswith("pipeline")
    ns = e.data.get("namespace") if e.job_id is None and own else None
    return ns if isinstance(ns, str) else None


BATCH_ROWS = 500
"""Outbox rows the relay reads at a time (each holds one event or one job's batch)."""
