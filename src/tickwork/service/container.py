"""Wiring: builds the store, coordination and services from settings; starts and stops them."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from tickwork.config import Settings
from tickwork.coord.base import Coordination
from tickwork.coord.redis import create_coordination
from tickwork.domain.clock import Clock, SystemClock
from tickwork.store import migrate
from tickwork.store.sql import SqlStore

from .alert_channels import Senders
from .alerts import AlertPass, AlertService
from .background import BackgroundService
from .bulk import BulkService
from .calendars import CalendarService
from .events import EventRelay
from .jobs import JobService
from .metrics import Metrics
from .notify import Notifier
from .pipelines import PipelineService
from .projection import JobStatusProjector, RunTotalsProjector
from .quotas import ApiRates, QuotaService
from .reaper import Reaper
from .retention import Pruner
from .runs import RunService
from .scheduler import Scheduler
from .stats import StatsService
from .tokens import TokenService
from .watch import Watcher
from .workers import WorkerService

log = logging.getLogger(__name__)


class DatabaseClock:
    """The system clock corrected to the database's clock (leases use one clock for all)."""

    def __init__(self, offset: timedelta) -> None:
        self.offset = offset
        self._system = SystemClock()

    def now(self) -> datetime:
        return self._system.now() + self.offset


class Container:
    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock | None = None,
        coordination: Coordination | None = None,
    ) -> None:
        self.settings = settings
        self._fixed_clock = clock is not None
        self.clock: Clock = clock or SystemClock()
        self.store = SqlStore(
            settings.database_url, prepared_statements=settings.database_prepared_statements
        )
        self.coord: Coordination = coordination or create_coordination(
            settings.redis_url, settings.redis_prefix
        )
        self.notifier = Notifier(self.coord.bus, self.clock)
        self.metrics = Metrics(self.settings.metrics_jobs)
        self.tokens = TokenService(
            self.store,
            self.clock,
            bus=self.coord.bus,
            cache_seconds=settings.token_cache_seconds,
        )
        self.jobs = JobService(self.store, self.clock, self.notifier)
        self.calendars = CalendarService(self.store, self.clock, self.notifier)
        self.pipelines = PipelineService(self.store, self.clock, self.notifier)
        self.quotas = QuotaService(self.store, self.clock, self.metrics)
        self.api_rates = ApiRates(
            self.coord.rates, self.clock, self.metrics, settings.api_rate_limit
        )
        self.store.claims.on_held = self.metrics.held
        self.runs = RunService(self.store, self.clock, self.notifier)
        self.bulk = BulkService(self.store, self.clock, self.notifier)
        self.workers = WorkerService(
            self.store, self.clock, self.coord.bus, self.notifier, settings, self.metrics
        )
        self.scheduler = Scheduler(
            self.store,
            self.coord.leader,
            self.clock,
            self.notifier,
            settings,
            metrics=self.metrics,
            draining=self.workers.handing_out,
        )
        self.reaper = Reaper(self.store, self.clock, self.notifier, settings, self.metrics)
        self.events = EventRelay(self.store, self.coord.bus)
        self.projector = JobStatusProjector(
            self.store, self.clock, self.notifier, lambda: self.scheduler.is_leader
        )
        self.pruner = Pruner(
            self.store, self.clock, settings, lambda: self.scheduler.is_leader, self.metrics
        )
        self.totals = RunTotalsProjector(self.store, self.clock, lambda: self.scheduler.is_leader)
        self.stats = StatsService(self.store, self.coord, self.clock)
        self.senders = Senders(settings)
        self.alerts = AlertService(self.store, self.clock, self.senders, settings)
        self.alert_pass = AlertPass(
            self.store,
            self.clock,
            self.senders,
            settings,
            lambda: self.scheduler.is_leader,
            self.metrics,
        )
        self.watcher = Watcher(
            self.store, self.clock, settings, lambda: self.scheduler.is_leader, self.metrics
        )
        self._background = False

    def _set_clock(self, clock: Clock) -> None:
        self.clock = clock
        for svc in (
            self.jobs,
            self.calendars,
            self.pipelines,
            self.quotas,
            self.api_rates,
            self.runs,
            self.bulk,
            self.workers,
            self.scheduler,
            self.reaper,
            self.tokens,
            self.stats,
            self.projector,
            self.pruner,
            self.totals,
            self.notifier,
            self.alerts,
            self.alert_pass,
            self.watcher,
        ):
            svc.clock = clock

    async def start(self, *, background: bool = True, migrate_db: bool = True) -> None:
        if migrate_db:
            await migrate.upgrade(self.store.writer)
        if self.store.is_postgres and not self._fixed_clock:
            offset = await self.store.db_now() - SystemClock().now()
            self._set_clock(DatabaseClock(offset))
        if background and await self.store.autovacuum_off():  # a server, not a CLI command
            log.warning(
                "PostgreSQL's autovacuum is off: nothing vacuums or analyses tickwork's tables, "
                "so dead rows pile up in the run path's indexes and query plans made while the "
                "tables were small stay in use; turn it on, or run VACUUM ANALYZE regularly "
                "(docs/operations.md)"
            )
        await self.coord.start()
        if background:
            for svc in self._services():
                svc.start()
            self.tokens.start()
            self._background = True

    def _services(self) -> tuple[BackgroundService, ...]:
        return (
            self.scheduler,
            self.reaper,
            self.events,
            self.projector,
            self.pruner,
            self.totals,
            self.alert_pass,
            self.watcher,
        )

    async def stop(self) -> None:
        if self._background:
            for svc in self._services():
                await svc.stop()
        await self.jobs.triggers.stop()
        await self.tokens.stop()
        self.notifier.cancel_timers()
        await self.senders.close()
        await self.coord.stop()
        await self.store.close()
