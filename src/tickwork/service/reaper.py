"""The reaper: runs on every coordinator, always; recovers leases, claims and deadlines."""

from __future__ import annotations

import logging

from tickwork.config import Settings
from tickwork.domain.clock import Clock
from tickwork.domain.records import ReapResult
from tickwork.store.base import Store

from .background import BackgroundService
from .metrics import Metrics
from .notify import Notifier

log = logging.getLogger(__name__)


class Reaper(BackgroundService):
    name = "reaper"

    def __init__(
        self,
        store: Store,
        clock: Clock,
        notifier: Notifier,
        settings: Settings,
        metrics: Metrics | None = None,
    ) -> None:
        super().__init__(settings.reaper_interval)
        self.store = store
        self.clock = clock
        self.notifier = notifier
        self.settings = settings
        self.metrics = metrics or Metrics()

    async def run_once(self) -> bool:
        now = self.clock.now()
        result: ReapResult = await self.store.reaper.reap(
            now=now, lost_after=self.settings.worker_lost_after
        )
        if result.changed:
            self.metrics.lease_expiries.inc(len(result.expired))
            log.info(
                "reaper: lost workers %s, expired %d, unacked %d, missed %d",
                result.lost_workers,
                len(result.expired),
                len(result.unacked),
                len(result.missed),
            )
            await self.notifier.runs_ready()
        return False
