"""The scheduler loop: while this coordinator holds the leader lease, due jobs become runs."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from datetime import datetime, timedelta

from tickwork.config import Settings
from tickwork.coord.base import LeaderLease
from tickwork.domain import ids
from tickwork.domain.calendars import CalendarSpec
from tickwork.domain.clock import Clock
from tickwork.domain.errors import ValidationError
from tickwork.domain.jobs import Job
from tickwork.domain.pipelines import Pipeline
from tickwork.domain.records import TickResult
from tickwork.domain.scheduling import TickPlan, jitter_offset, plan_ticks
from tickwork.store.base import Store

from .background import BackgroundService
from .metrics import Metrics
from .notify import Notifier

log = logging.getLogger(__name__)
LEADER = "scheduler"

DUE_SLACK = 0.001
"""Seconds past a due time to wake at, so the job is due (next_run <= now) when the pass runs."""


class Scheduler(BackgroundService):
    name = "scheduler"

    def __init__(
        self,
        store: Store,
        leader: LeaderLease,
        clock: Clock,
        notifier: Notifier,
        settings: Settings,
        holder: str | None = None,
        metrics: Metrics | None = None,
        draining: Callable[[], bool] | None = None,
    ) -> None:
        super().__init__(settings.scheduler_interval)
        self.store = store
        self.leader = leader
        self.clock = clock
        self.notifier = notifier
        self.settings = settings
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}:{ids.short_id('s', 6)}"
        self.fence: int | None = None
        self.metrics = metrics or Metrics()
        self.last: TickResult | None = None
        self.lags: list[float] = []
        self._wait = self.interval
        self.draining = draining
        """Whether workers are claiming runs on this coordinator now (a drain under way):
        runs written ahead then wait, up to half the window before their fire time."""
        self._job_due: datetime | None = None
        """The soonest enabled job's next_run, as ``_soonest`` last read it."""
        self._decided: datetime | None = None
        """Runs written ahead whose fire time came by then have had their overlap decided
        (the pass at the tick); None: none known to have (a new leader looks at all)."""

    @property
    def is_leader(self) -> bool:
        return self.fence is not None

    async def _lead(self) -> bool:
        """Renew (or take) the leader lease; whether this scheduler leads now. A lease that
        cannot be confirmed (the lease service does not answer) is leadership lost at once:
        never two leaders, only, for a while, none."""
        try:
            fence = await self.leader.acquire(LEADER, self.holder, self.settings.leader_ttl)
        except Exception as exc:
            if self.fence is not None:
                log.warning("scheduler leadership: lost (the lease could not be renewed: %r)", exc)
            fence = None
        else:
            if fence != self.fence:
                state = "gained" if fence else "lost"
                log.info("scheduler leadership: %s (fence %s)", state, fence)
        if fence != self.fence:
            self._decided = None
        self.fence = fence
        return fence is not None

    async def run_once(self) -> bool:
        """One tick: renew leadership, fire one batch of due jobs; True if more are due.

        The soonest due time of a job or a pipeline is read first (a statement each, on their
        due indexes): a pass with nothing due, most passes, opens no write transaction."""
        self._wait = self.interval
        if not await self._lead():
            return False
        now = self.clock.now()
        due = await self._soonest()
        if due is None or due > now:  # reads, not write transactions finding nothing
            self._wait = self._until(due)
            return False
        await self._at_tick(now)
        if self._defer_ahead(now):
            result = TickResult(0, 0, 0, [])
        else:
            result = await self.store.schedule.fire(
                now=now,
                limit=self.settings.scheduler_batch,
                planner=self.planner(now),
                idle_limit=self.settings.leader_ttl,
                ahead=self.settings.schedule_ahead,
            )
        self.last = result
        piped = await self._fire_pipelines(now)
        lags = result.lags + self._ahead_lags(result.ahead)
        self.lags = (self.lags + lags)[-10_000:]
        for lag in lags:
            self.metrics.fire_lag.observe(lag)
        for at in sorted(set(result.ahead)):  # claims wake when the runs come due
            self.notifier.runs_ready_at(at)
        if result.created:
            self.metrics.runs_created.labels("schedule").inc(result.created)
        for run_id, worker in result.stopping:  # cancel_previous: as prompt as a cancel
            await self.notifier.cancel(worker, run_id)
        if result.lags:  # runs claimable now (not only runs written ahead of their tick)
            await self.notifier.runs_ready()
        elif result.jobs:
            await self.notifier.changed()
        more = max(result.jobs, piped) >= self.settings.scheduler_batch
        if not more:
            self._wait = self._until(await self._soonest())
        return more

    def _defer_ahead(self, now: datetime) -> bool:
        """Whether to leave the runs due to be written ahead for a later pass: while workers
        drain (the tick just begun, most often) and the soonest of them fires more than
        half the ``schedule_ahead`` window away (as this pass's ``_soonest`` read it).
        Writing the next tick's runs takes the same cores the drain needs; the second half
        of the window is left for it. A job already due never waits."""
        ahead = self.settings.schedule_ahead
        if ahead <= 0 or self.draining is None or not self.draining():
            return False
        soonest = self._job_due
        return soonest is not None and (soonest - now).total_seconds() > ahead / 2

    def _ahead_lags(self, fire_times: list[datetime]) -> list[float]:
        """The fire lag of runs written ahead: how late their commit (now) came after their
        fire time, 0 if before it (a run is late only if it was not claimable at its time)."""
        if not fire_times:
            return []
        committed = self.clock.now()
        return [max(0.0, (committed - at).total_seconds()) for at in fire_times]

    async def _at_tick(self, now: datetime) -> None:
        """The overlap decision of the runs written ahead that came due since the last pass
        (store ScheduleRows.at_tick): a read when none did."""
        pending = await self.store.schedule.next_at_tick(self._decided)
        if pending is None or pending > now:
            return
        skipped, stopping = await self.store.schedule.at_tick(
            now=now, since=self._decided, idle_limit=self.settings.leader_ttl
        )
        self._decided = now
        for run_id, worker in stopping:
            await self.notifier.cancel(worker, run_id)
        if skipped or stopping:
            await self.notifier.changed()

    async def _fire_pipelines(self, now: datetime) -> int:
        """One batch of due pipelines made pipeline runs; how many pipelines were due."""
        piped, made, _, stops = await self.store.pipeline_schedule.fire(
            now=now, limit=self.settings.scheduler_batch, planner=self.plan_pipeline_at(now)
        )
        for run_id, worker in stops:
            await self.notifier.cancel(worker, run_id)
        if made:
            await self.notifier.runs_ready()
        elif piped:
            await self.notifier.changed()
        return int(piped)

    async def _soonest(self) -> datetime | None:
        """When the scheduler next has something to do (None: nothing scheduled): the next
        enabled job's due time less ``schedule_ahead`` (its runs are written that much
        ahead), the next pipeline's due time, the next fire time of a run written ahead
        that waits for its overlap decision. Each is one read on its index."""
        job = self._job_due = await self.store.schedule.next_due()
        if job is not None:
            job -= timedelta(seconds=self.settings.schedule_ahead)
        dues = [
            job,
            await self.store.pipeline_schedule.next_due(),
            await self.store.schedule.next_at_tick(self._decided),
        ]
        return min((d for d in dues if d is not None), default=None)

    def next_wait(self) -> float:
        return self._wait

    def _until(self, due: datetime | None) -> float:
        """Sleep until ``due`` if it comes within an interval (so runs are created on time,
        not up to an interval late); otherwise, or if it is already past, one interval."""
        if due is None:
            return self.interval
        left = (due - self.clock.now()).total_seconds()
        return self.interval if left <= 0 else min(self.interval, left + DUE_SLACK)

    def planner(
        self, now: datetime
    ) -> Callable[[Job, CalendarSpec | None], tuple[TickPlan, datetime | None]]:
        """The planner of one pass: jobs alike in schedule, timezone, due time, catch-up policy
        and jitter offset get the same plan, computed once (at the top of a minute, 100,000
        jobs on `* * * * *` are one walk through cronsim, not 100,000). A job under a
        business calendar is planned on its own (its skips start at its last change)."""
        plans: dict[tuple[object, ...], tuple[TickPlan, datetime | None]] = {}

        def plan(job: Job, calendar: CalendarSpec | None) -> tuple[TickPlan, datetime | None]:
            spec = job.spec
            # the offset depends on the job's id, so a jittered job's plan is its own
            alike = job.id if spec.jitter > 0 or calendar is not None else None
            key = (spec.schedule, spec.timezone, job.next_run, spec.catchup, alike)
            known = plans.get(key)
            if known is None:
                known = plans[key] = self.plan(job, now, calendar)
            return known

        return plan

    def plan(
        self, job: Job, now: datetime, calendar: CalendarSpec | None = None
    ) -> tuple[TickPlan, datetime | None]:
        """Pure decision for one due job (see domain.scheduling). A job whose calendar has
        no fire time left stops (next_run None) with the reason recorded as a skip."""
        schedule = job.spec.ticks(calendar)
        if schedule is None or job.next_run is None:
            return TickPlan(fire=[]), None
        offset = jitter_offset(job.id, job.spec.jitter)
        due = job.next_run - offset  # next_run is a nominal tick + the job's offset
        try:
            plan = plan_ticks(
                schedule,
                due=due,
                now=now,
                catchup=job.spec.catchup,
                grace=self.settings.misfire_grace,
                limit=self.settings.catchup_limit,
                offset=offset,
                since=job.updated_at if calendar is not None else None,
                ahead=self.settings.schedule_ahead,
            )
        except ValidationError as exc:  # NoBusinessDay: never an endless search
            log.warning("job %s stops: %s", job.id, exc.message)
            return TickPlan(fire=[], skipped=[(due, exc.reason)], skipped_total=1), None
        return plan, plan.next_due

    def plan_pipeline_at(
        self, now: datetime
    ) -> Callable[[Pipeline, CalendarSpec | None], tuple[TickPlan, datetime | None]]:
        def plan(
            pipeline: Pipeline, calendar: CalendarSpec | None
        ) -> tuple[TickPlan, datetime | None]:
            return self.plan_pipeline(pipeline, now, calendar)

        return plan

    def plan_pipeline(
        self, pipeline: Pipeline, now: datetime, calendar: CalendarSpec | None = None
    ) -> tuple[TickPlan, datetime | None]:
        """Pure decision for one due pipeline, as for a job (no jitter): its catch-up policy
        and calendar decide which ticks make pipeline runs."""
        schedule = pipeline.spec.ticks(calendar)
        if schedule is None or pipeline.next_run is None:
            return TickPlan(fire=[]), None
        try:
            plan = plan_ticks(
                schedule,
                due=pipeline.next_run,
                now=now,
                catchup=pipeline.spec.catchup,
                grace=self.settings.misfire_grace,
                limit=self.settings.catchup_limit,
                since=pipeline.updated_at if calendar is not None else None,
            )
        except ValidationError as exc:  # NoBusinessDay: never an endless search
            log.warning("pipeline %s stops: %s", pipeline.id, exc.message)
            return TickPlan(
                fire=[], skipped=[(pipeline.next_run, exc.reason)], skipped_total=1
            ), None
        return plan, plan.next_due

    async def on_stop(self) -> None:
        if self.fence is not None:
            await self.leader.release(LEADER, self.holder)
            self.fence = None
