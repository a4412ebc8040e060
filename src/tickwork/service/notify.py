"""Wake-ups after a commit: workers waiting to claim, listeners waiting for events."""

from __future__ import annotations

import logging

from tickwork.coord.base import Bus

log = logging.getLogger(__name__)

RUNS_READY = "runs"
EVENTS = "events"


def worker_topic(worker_id: str) -> str:
    return f"worker:{worker_id}"


class Notifier:
    """Publishing is best effort: the database stays the truth and pollers catch up."""

    def __init__(self, bus: Bus) -> None:
        self.bus = bus

    async def _publish(self, topic: str, message: str = "") -> None:
        try:
            await self.bus.publish(topic, message)
        except Exception:  # Redis down: listeners fall back to polling
            log.warning("could not publish on %s", topic, exc_info=True)

    async def runs_ready(self) -> None:
        await self._publish(RUNS_READY)
        await self._publish(EVENTS)

    async def changed(self) -> None:
        await self._publish(EVENTS)

    async def cancel(self, worker_id: str, run_id: str) -> None:
        await self._publish(worker_topic(worker_id), run_id)
        await self._publish(EVENTS)
