"""The SQL store: PostgreSQL or SQLite by URL, one sibling class per thing it holds."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from tickwork.store.alerts_sql import AlertRows
from tickwork.store.bulk_sql import BulkRows
from tickwork.store.calendars_sql import CalendarRows
from tickwork.store.claims_sql import ClaimRows
from tickwork.store.database import Database
from tickwork.store.dead_letters_sql import DeadLetterRows
from tickwork.store.events_sql import EventRows
from tickwork.store.jobs_sql import JobRows
from tickwork.store.oneoff_sql import OneOffRows
from tickwork.store.pipeline_runs_sql import PipelineRunRows, PipelineSchedule
from tickwork.store.pipelines_sql import PipelineRows
from tickwork.store.quotas_sql import QuotaRows
from tickwork.store.reaper_sql import ReaperRows
from tickwork.store.reports_sql import ReportRows
from tickwork.store.retention_sql import RetentionRows
from tickwork.store.runs_sql import RunRows
from tickwork.store.schedule_sql import ScheduleRows
from tickwork.store.stats_sql import StatsRows
from tickwork.store.tokens_sql import AuditRows, TokenRows
from tickwork.store.watch_sql import WatchRows
from tickwork.store.workers_sql import WorkerRows


class SqlStore:
    """Composes the store's parts over one database; every write is one conditional
    transaction (store/locking.py has the one lock order they all follow)."""

    def __init__(self, url: str, *, prepared_statements: bool = True) -> None:
        self.db = Database(url, prepared_statements=prepared_statements)
        self.jobs = JobRows(self.db)
        self.calendars = CalendarRows(self.db)
        self.runs = RunRows(self.db)
        self.one_offs = OneOffRows(self.db)
        self.dead_letters = DeadLetterRows(self.db)
        self.claims = ClaimRows(self.db)
        self.reports = ReportRows(self.db, self.claims)
        self.workers = WorkerRows(self.db)
        self.reaper = ReaperRows(self.db)
        self.schedule = ScheduleRows(self.db)
        self.events = EventRows(self.db)
        self.stats = StatsRows(self.db)
        self.tokens = TokenRows(self.db)
        self.audit = AuditRows(self.db)
        self.bulk = BulkRows(self.db)
        self.retention = RetentionRows(self.db)
        self.quotas = QuotaRows(self.db)
        self.alerts = AlertRows(self.db)
        self.watch = WatchRows(self.db)
        self.pipelines = PipelineRows(self.db)
        self.pipeline_runs = PipelineRunRows(self.db)
        self.pipeline_schedule = PipelineSchedule(self.pipeline_runs)

    @property
    def dialect(self) -> str:
        return self.db.dialect

    @property
    def is_postgres(self) -> bool:
        return self.db.is_postgres

    @property
    def writer(self) -> AsyncEngine:
        return self.db.writer

    @property
    def reader(self) -> AsyncEngine:
        return self.db.reader

    async def db_now(self) -> datetime:
        return await self.db.now()

    async def ping(self) -> bool:
        return await self.db.ping()

    async def autovacuum_off(self) -> bool:
        return await self.db.autovacuum_off()

    async def close(self) -> None:
        await self.db.close()
