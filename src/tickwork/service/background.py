"""The one shape of every background loop: start(), stop(), run_once(), signals for tests."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from tickwork.domain.errors import Unavailable

log = logging.getLogger(__name__)

STOP_GRACE = 5.0
"""Seconds a background pass in progress may take to finish when its service stops."""


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
        self._stopping = False

    async def run_once(self) -> bool:
        raise NotImplementedError  # each service defines its own pass

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name=f"tickwork-{self.name}")

    async def stop(self, grace: float = STOP_GRACE) -> None:
        """Let a pass in progress finish (up to ``grace`` seconds), then end the loop.

        A pass cancelled halfway through a query would leave its database connection to be
        torn down in the background, which can hold up the event loop's own shutdown.
        """
        if self._task is not None:
            self._stopping = True
            self._wake.set()
            await asyncio.wait({self._task}, timeout=grace)  # neither raises nor cancels
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
            self._stopping = False
        await self.on_stop()

    async def on_stop(self) -> None:
        return None

    def wake(self) -> None:
        self._wake.set()

    def next_wait(self) -> float:
        """Seconds to sleep before the next pass (unless woken): the interval by default."""
        return self.interval

    async def _loop(self) -> None:
        while not self._stopping:
            again = False
            try:
                again = await self.run_once()
            except asyncio.CancelledError:
                raise
            except Unavailable as exc:  # the store logged why; no traceback per pass
                log.warning("%s pass skipped: %s", self.name, exc.message)
            except Exception:
                log.exception("%s pass failed; retrying", self.name)
            self.ticked.set()
            self.ticked = asyncio.Event()
            if self._stopping:
                return
            if again:
                await asyncio.sleep(0)
                continue
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.next_wait()):  # not wait_for: see coord.base
                    await self._wake.wait()
            self._wake.clear()
