"""The run lock ``run:{id}:{fence}``: Redis when a URL is given, else in-process.

It only saves work (a second copy of the same assignment is skipped); correctness rests on the
fence the coordinator checks, so when the lock service is down the run goes ahead.
"""

from __future__ import annotations

import logging
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
        self._coord: Any | None = None
        if locks is None and redis_url:
            from tickwork.coord.redis import create_coordination

            self._coord = create_coordination(redis_url, redis_prefix)
            locks = self._coord.locks
        self.locks: Locks = locks or LocalLocks()

    async def take(self, a: AssignmentOut, ttl: float) -> bool:
        """False if another worker holds this attempt's lock (then skip the run)."""
        key = _KEYS.run_lock(a.run_id, a.fence)
        try:
            taken = await self.locks.acquire(key, self.token, ttl)
        except Exception as exc:  # the lock service is down: the fence alone still protects
            log.warning("run lock %s unavailable (%s); relying on the fence", key, exc)
            return True
        if not taken:
            log.warning("run %s (fence %d) is locked elsewhere: skipped", a.run_id, a.fence)
        return taken

    async def release(self, a: AssignmentOut) -> None:
        try:
            await self.locks.release(_KEYS.run_lock(a.run_id, a.fence), self.token)
        except Exception as exc:  # it expires on its own
            log.warning("releasing the lock of run %s failed: %s", a.run_id, exc)

    async def close(self) -> None:
        if self._coord is not None:
            await self._coord.stop()
