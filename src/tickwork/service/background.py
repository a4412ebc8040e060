"""The one shape of every background loop: start(), stop(), run_once(), signals for tests."""

from __future__ import annotations

import asyncio
import contextlib
import logging

log = logging.getLogger(__name__)


class BackgroundService:
    """Calls ``run_once`` every ``interval`` seconds until stopped; errors are logged, not fatal.

    ``run_once`` returns True when it did work and should run again at once (a backlog).
    Tests call ``run_once`` directly, or wait on ``ticked`` instead of sleeping.
    """

    name = "background"

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.ticked = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()

    async def run_once(self) -> bool:
        raise NotImplementedError  # each service defines its own pass

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name=f"tickwork-{self.name}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.on_stop()

    async def on_stop(self) -> None:
        return None

    def wake(self) -> None:
        self._wake.set()

    async def _loop(self) -> None:
        while True:
            again = False
            try:
                again = await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("%s pass failed; retrying", self.name)
            self.ticked.set()
            self.ticked = asyncio.Event()
            if again:
                await asyncio.sleep(0)
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval)
            self._wake.clear()
