"""Retention: the scheduler's leader prunes old history in small batches (domain/retention.py
has the rules, store/retention_sql.py the statements)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import datetime

from tickwork.config import Settings
from tickwork.domain.clock import Clock
from tickwork.domain.retention import PRUNED_KINDS, PruneCounts, RetentionPolicy
from tickwork.store.base import Store

from .background import BackgroundService
from .metrics import Metrics

log = logging.getLogger(__name__)

JOBS_PER_ROUND = 100
"""Jobs with their own retention visited per round (a cursor carries on from there)."""


def policy_of(settings: Settings) -> RetentionPolicy:
    return RetentionPolicy(
        runs_days=settings.retain_runs_days,
        output_days=settings.retain_output_days,
        audit_days=settings.retain_audit_days,
        workers_days=settings.retain_workers_days,
        events_hours=settings.event_retention_hours,
    )


class Pruner(BackgroundService):
    """Every ``prune_interval`` on the leader: rounds of one batch per kind until no backlog,
    pausing ``prune_pause`` between rounds so the run path keeps the database."""

    name = "pruner"

    def __init__(
        self,
        store: Store,
        clock: Clock,
        settings: Settings,
        is_leader: Callable[[], bool],
        metrics: Metrics | None = None,
    ) -> None:
        super().__init__(settings.prune_interval)
        self.store = store
        self.clock = clock
        self.policy = policy_of(settings)
        self.batch = settings.prune_batch
        self.pause = settings.prune_pause
        self.is_leader = is_leader
        self.metrics = metrics or Metrics()
        self._after_job = ""

    async def run_once(self) -> bool:
        if not self.is_leader():
            return False
        counts, backlog = await self.round(self.clock.now())
        if counts.total:
            log.info("retention pruned %s", counts.as_dict())
        if backlog and self.pause:
            await asyncio.sleep(self.pause)
        return backlog

    async def round(self, now: datetime) -> tuple[PruneCounts, bool]:
        """One batch of each kind (runs: of the server-limit jobs, of up to
        ``JOBS_PER_ROUND`` jobs with their own limits, and one-off runs with their hidden
        definitions); whether a backlog remains."""
        r = self.store.retention
        n = self.batch
        runs = await r.prune_runs(now=now, policy=self.policy, limit=n)
        backlog = runs >= n
        own = await r.jobs_with_retention(after=self._after_job, limit=JOBS_PER_ROUND)
        for job in own:
            pruned = await r.prune_runs(now=now, policy=self.policy, limit=n, job=job)
            runs += pruned
            backlog |= pruned >= n
        cutoff = self.policy.runs_before(now, None)
        one_offs = await r.prune_one_offs(now=now, before=cutoff, limit=n)
        runs += one_offs
        backlog |= one_offs >= n
        self._after_job = own[-1][0] if len(own) == JOBS_PER_ROUND else ""
        backlog |= bool(self._after_job)
        counts = await self._by_age(now, runs=runs, limit=n, dry_run=False)
        over_quota = await self.store.quotas.output_over(now=now, limit=n)
        counts += PruneCounts(output=over_quota)
        backlog |= over_quota >= n
        backlog |= any(getattr(counts, k) >= n for k in PRUNED_KINDS if k != "runs")
        for kind, count in counts.as_dict().items():
            if count:
                self.metrics.pruned.labels(kind).inc(count)
        return counts, backlog

    async def prune_now(self, *, dry_run: bool, budget: float = 10.0) -> tuple[PruneCounts, bool]:
        """For an operator (``tickwork prune``): with ``dry_run``, what the policy would remove
        now; else rounds for up to ``budget`` seconds. Whether more remains."""
        now = self.clock.now()
        if dry_run:
            return await self._would_go(now), False
        total = PruneCounts()
        deadline = time.monotonic() + budget
        self._after_job = ""
        while True:
            counts, backlog = await self.round(now)
            total += counts
            if not backlog or time.monotonic() >= deadline:
                return total, backlog

    async def _would_go(self, now: datetime) -> PruneCounts:
        r = self.store.retention
        runs = await r.prune_runs(now=now, policy=self.policy, limit=0, dry_run=True)
        after = ""
        while own := await r.jobs_with_retention(after=after, limit=500):
            for job in own:
                runs += await r.prune_runs(
                    now=now, policy=self.policy, limit=0, job=job, dry_run=True
                )
            after = own[-1][0]
        runs += await r.prune_one_offs(
            now=now, before=self.policy.runs_before(now, None), limit=0, dry_run=True
        )
        return await self._by_age(now, runs=runs, limit=0, dry_run=True)

    async def _by_age(self, now: datetime, *, runs: int, limit: int, dry_run: bool) -> PruneCounts:
        """``runs`` with one batch (or, dry, the count) of each kind kept by age alone."""
        cut = self.policy.cutoffs(now)
        r = self.store.retention
        return PruneCounts(
            runs=runs,
            output=await r.prune_output(now=now, before=cut.output, limit=limit, dry_run=dry_run),
            audit=await r.prune_audit(now=now, before=cut.audit, limit=limit, dry_run=dry_run),
            workers=await r.prune_workers(
                now=now, before=cut.workers, limit=limit, dry_run=dry_run
            ),
            events=await r.prune_events(now=now, before=cut.events, limit=limit, dry_run=dry_run),
            pipeline_runs=await r.prune_pipeline_runs(
                now=now, before=cut.runs, limit=limit, dry_run=dry_run
            ),
        )
