"""The run lock ``run:{id}:{fence}``: Redis when a URL is given, else in-process.

It only saves work (a second copy of the same assignment is skipped); correctness rests on the
fence the coordinator checks, so when the lock service is down the run goes ahead. The locks of
a claim's runs are taken in one round trip; releases are gathered and sent together by one
task (``run()``), one round trip per batch, not per run.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from tickwork.coord.base import Locks
from tickwork.coord.keys import Keys
from tickwork.coord.local import LocalLocks
from tickwork.schemas.workers import AssignmentOut

__all__ = ["RunLocks"]

log = logging.getLogger(__name__)

_KEYS = Keys()


class RunLocks:
    def __init__(
        self,
        token: str,
        *,
        locks: Locks | None = None,
        redis_url: str | None = None,
        redis_prefix: str = "tickwork",
    ) -> None:
        self.token = token
        self.round_trips = 0
        self._coord: Any | None = None
        if locks is None and redis_url:
            from tickwork.coord.redis import create_coordination

            self._coord = create_coordination(redis_url, redis_prefix)
            locks = self._coord.locks
        self.locks: Locks = locks or LocalLocks()
        self._releasing: list[str] = []
        self._wake = asyncio.Event()

    async def take(self, assignments: Sequence[AssignmentOut], ttl: float) -> list[AssignmentOut]:
        """The assignments whose locks this worker got (another worker holding one: skip that
        run), in one round trip."""
        if not assignments:
            return []
        keys = [_KEYS.run_lock(a.run_id, a.fence) for a in assignments]
        self.round_trips += 1
        try:
            taken = await self.locks.acquire_many(keys, self.token, ttl)
        except Exception as exc:  # the lock service is down: the fence alone still protects
            log.warning("run locks unavailable (%s); relying on the fences", exc)
            return list(assignments)
        for a, ok in zip(assignments, taken, strict=True):
            if not ok:
                log.warning("run %s (fence %d) is locked elsewhere: skipped", a.run_id, a.fence)
        return [a for a, ok in zip(assignments, taken, strict=True) if ok]

    def release(self, run_id: str, fence: int) -> None:
        """Queue the release of a run's lock (``run()`` sends the queued ones together)."""
        self._releasing.append(_KEYS.run_lock(run_id, fence))
        self._wake.set()

    async def run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            await self.flush()

    async def flush(self) -> None:
        keys, self._releasing = self._releasing, []
        if not keys:
            return
        self.round_trips += 1
        try:
            await self.locks.release_many(keys, self.token)
        except Exception as exc:  # they expire on their own
            log.warning("releasing %d run locks failed: %s", len(keys), exc)

    async def close(self) -> None:
        await self.flush()
        if self._coord is not None:
            await self._coord.stop()
