"""The leader's watch pass: SLA breaches, silent jobs and queue backlogs become events (once
each, store/watch_sql.py), metrics, and so alerts (service/alerts.py follows the events)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from tickwork.config import Settings
from tickwork.domain.clock import Clock
from tickwork.domain.watch import Breach, backlogs, lookback, silence, sla_breaches
from tickwork.store.base import Store

from .background import BackgroundService
from .metrics import Metrics

log = logging.getLogger(__name__)

JOBS_PER_READ = 500


class Watcher(BackgroundService):
    name = "watch"

    def __init__(
        self,
        store: Store,
        clock: Clock,
        settings: Settings,
        is_leader: Callable[[], bool],
        metrics: Metrics | None = None,
    ) -> None:
        super().__init__(settings.watch_interval)
        self.store = store
        self.clock = clock
        self.backlog_threshold = settings.alert_backlog_threshold
        self.is_leader = is_leader
        self.metrics = metrics or Metrics()

    async def run_once(self) -> bool:
        if not self.is_leader():
            return False
        found = await self.check()
        if found:
            log.info("watch: %d new breaches", len(found))
        return False

    async def check(self) -> list[Breach]:
        """One look at every watched job and the queue; the breaches new this time."""
        now = self.clock.now()
        breaches: list[Breach] = []
        after = ""
        while jobs := await self.store.watch.watched_jobs(after=after, limit=JOBS_PER_READ):
            for job in jobs:
                if job.finish_within is not None or job.max_duration is not None:
                    runs = await self.store.watch.recent_runs(job.id, since=now - lookback(job))
                    breaches += sla_breaches(job, runs, now)
                if job.expect_every is not None:
                    last = await self.store.watch.last_success(job.id)
                    if (b := silence(job, last, now)) is not None:
                        breaches.append(b)
            after = jobs[-1].id
        if self.backlog_threshold is not None:
            queued = await self.store.watch.queued_by_namespace(now=now)
            breaches += backlogs(queued, self.backlog_threshold, now)
        new = await self.store.watch.record_breaches(breaches, now=now)
        for b in new:
            if b.job_id:
                label = self.metrics.job(str(b.data.get("job_name", b.job_id)))
                self.metrics.sla_breaches.labels(label, b.kind).inc()
        return new
