"""Wake-ups after a commit: workers waiting to claim, listeners waiting for events."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import datetime

from tickwork.coord.base import Bus
from tickwork.domain.clock import Clock, SystemClock

log = logging.getLogger(__name__)

RUNS_READY = "runs"
EVENTS = "events"

DUE_SLACK = 0.002
"""Seconds past a due time to wake at, so the run is due (not_before <= now) when looked at."""


def worker_topic(worker_id: str) -> str:
    return f"worker:{worker_id}"


class Notifier:
    """Publishing is best effort: the database stays the truth and pollers catch up."""

    def __init__(self, bus: Bus, clock: Clock | None = None) -> None:
        self.bus = bus
        self.clock: Clock = clock or SystemClock()
        self._timers: dict[datetime, asyncio.TimerHandle] = {}
        self._sending: set[asyncio.Task[None]] = set()

    async def _publish(self, topic: str, message: str = "") -> None:
        try:
            await self.bus.publish(topic, message)
        except Exception:  # Redis down: listeners fall back to polling
            log.warning("could not publish on %s", topic, exc_info=True)

    async def runs_ready(self) -> None:
        await self._publish(RUNS_READY)
        await self._publish(EVENTS)

    def runs_ready_at(self, when: datetime) -> None:
        """Wake waiting claims again when a run queued for later (a retry's backoff) comes
        due, rather than at their next poll; one timer per due time (rounded to 10 ms)."""
        key = when.replace(microsecond=when.microsecond // 10_000 * 10_000)
        if key in self._timers:
            return
        delay = max(0.0, (when - self.clock.now()).total_seconds()) + DUE_SLACK
        loop = asyncio.get_running_loop()
        self._timers[key] = loop.call_later(delay, self._fire, key)

    def _fire(self, key: datetime) -> None:
        self._timers.pop(key, None)
        task = asyncio.ensure_future(self._publish(RUNS_READY))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    def cancel_timers(self) -> None:
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()

    async def changed(self) -> None:
        await self._publish(EVENTS)

    async def cancel(self, worker_id: str, run_id: str) -> None:
        await self.cancel_many([(run_id, worker_id)])

    async def cancel_many(self, stopping: Sequence[tuple[str, str]]) -> None:
        """Tell each worker of these (run id, worker id) to stop the run, then listeners."""
        for run_id, worker_id in stopping:
            await self._publish(worker_topic(worker_id), run_id)
        await self._publish(EVENTS)
