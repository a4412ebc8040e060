"""What the services may ask of the store: one protocol per part, typed against by the
services, implemented by the SQL siblings composed in ``store/sql.py`` (and by fakes in
tests). Methods are use cases with keyword arguments and an explicit ``now``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Protocol

from tickwork.domain.alerts import Alert, Channel, JobInfo, NewAlert, Rule
from tickwork.domain.errors import TickworkError
from tickwork.domain.jobs import Job
from tickwork.domain.namespaces import NamespaceFilter
from tickwork.domain.queries import (
    DeadLetterGroup,
    DeadLetterSelection,
    JobFilter,
    JobStats,
    NewRun,
    RunFilter,
    RunSelection,
    Total,
    TriggerRequest,
)
from tickwork.domain.records import (
    AuditEntry,
    AuditNote,
    BulkResult,
    HeartbeatResult,
    ReapResult,
    Report,
    TickResult,
    TokenRecord,
    Triggered,
)
from tickwork.domain.retention import RetentionPolicy
from tickwork.domain.runs import Assignment, Attempt, Completion, DeadLetter, Event, Run, Worker
from tickwork.domain.scheduling import TickPlan
from tickwork.domain.totals import Totals
from tickwork.domain.watch import Breach, RunTimes, WatchedJob


class Jobs(Protocol):
    async def insert(self, job: Job, *, dep_ids: list[str], now: datetime) -> None: ...
    async def replace(self, job: Job, *, dep_ids: list[str], now: datetime) -> None: ...
    async def delete(self, job_id: str, *, now: datetime) -> None: ...
    async def get(self, ref: str, *, namespace: str = ..., deps: bool = True) -> Job | None: ...
    async def resolve(
        self, refs: list[str], *, namespace: str = ...
    ) -> dict[str, tuple[str, str]]: ...
    async def namespaces_of(self, job_ids: list[str]) -> dict[str, str]: ...
    async def namespace_counts(self, namespaces: NamespaceFilter) -> dict[str, int]: ...
    async def upstream_graph(self, start_ids: list[str]) -> dict[str, list[str]]: ...
    async def dependents(self, job_id: str) -> list[str]: ...
    async def set_enabled(
        self, job_id: str, *, enabled: bool, next_run: datetime | None, now: datetime
    ) -> bool: ...
    async def page(
        self, flt: JobFilter, *, limit: int, cursor: str | None
    ) -> tuple[list[Job], Total, str | None]: ...
    async def refresh_status(self, job_ids: list[str], *, now: datetime) -> list[str]: ...
    async def unsettled(self) -> list[str]: ...
    async def dag(self, namespace: str) -> tuple[list[Job], list[tuple[str, str]]]: ...


class Runs(Protocol):
    async def trigger(
        self, new: NewRun, *, now: datetime, audit: AuditNote | None = None
    ) -> Triggered: ...
    async def trigger_many(
        self, requests: Sequence[TriggerRequest], *, now: datetime
    ) -> list[Triggered | TickworkError | None]: ...
    async def bulk(self, items: Sequence[NewRun], *, now: datetime) -> list[tuple[str, bool]]: ...
    async def get(self, run_id: str) -> Run | None: ...
    async def attempts(self, run_id: str) -> list[Attempt]: ...
    async def page(
        self, flt: RunFilter, *, limit: int, cursor: str | None
    ) -> tuple[list[Run], Total, str | None]: ...
    async def cancel(
        self, run_id: str, *, by: str = "system", now: datetime
    ) -> tuple[str, str | None]: ...
    async def requeue(
        self, run_id: str, *, trigger: str, now: datetime, resolution: str
    ) -> Run: ...


class DeadLetters(Protocol):
    async def page(
        self,
        *,
        resolved: bool | None,
        limit: int,
        offset: int,
        namespaces: NamespaceFilter = ...,
    ) -> tuple[list[DeadLetter], int]: ...
    async def get(self, dl_id: str) -> DeadLetter | None: ...
    async def resolve(self, dl_id: str, *, now: datetime) -> None: ...
    async def groups(
        self, *, limit: int, namespaces: NamespaceFilter = ...
    ) -> list[DeadLetterGroup]: ...


class Bulk(Protocol):
    async def runs_cancel(self, sel: RunSelection, *, by: str, now: datetime) -> BulkResult: ...
    async def runs_retry(self, sel: RunSelection, *, now: datetime) -> BulkResult: ...
    async def dead_letters_replay(
        self, sel: DeadLetterSelection, *, note: str | None, now: datetime
    ) -> BulkResult: ...
    async def dead_letters_resolve(
        self, sel: DeadLetterSelection, *, note: str | None, now: datetime
    ) -> BulkResult: ...


class Claims(Protocol):
    async def claim(
        self,
        *,
        worker_id: str,
        routes: Sequence[str],
        limit: int,
        lease: float,
        ack_timeout: float,
        now: datetime,
        namespaces: Sequence[str] | None = None,
    ) -> list[Assignment]: ...


class Reports(Protocol):
    async def apply(
        self,
        worker_id: str,
        *,
        starts: Sequence[tuple[str, int]] = (),
        logs: Sequence[tuple[str, int, str, str]] = (),
        completions: Sequence[Completion] = (),
        releases: Sequence[tuple[str, int]] = (),
        limit: int,
        now: datetime,
    ) -> Report: ...


class Workers(Protocol):
    async def register(self, worker: Worker, *, now: datetime) -> None: ...
    async def heartbeat(
        self, worker_id: str, *, runs: Sequence[tuple[str, int]], lease: float, now: datetime
    ) -> HeartbeatResult: ...
    async def cancels(self, worker_id: str) -> list[str]: ...
    async def deregister(self, worker_id: str, *, now: datetime) -> list[str]: ...
    async def all(self) -> list[Worker]: ...
    async def get(self, worker_id: str) -> Worker | None: ...


class Reaper(Protocol):
    async def reap(self, *, now: datetime, lost_after: float, limit: int = 500) -> ReapResult: ...


class Schedule(Protocol):
    async def fire(
        self,
        *,
        now: datetime,
        limit: int,
        planner: Callable[[Job], tuple[TickPlan, datetime | None]],
        idle_limit: float | None = None,
    ) -> TickResult: ...
    async def next_due(self) -> datetime | None: ...


class Events(Protocol):
    async def since(
        self,
        after: int,
        *,
        limit: int = 1000,
        job_id: str | None = None,
        run_id: str | None = None,
    ) -> list[Event]: ...
    async def batches_since(
        self, after_row: int, *, limit: int
    ) -> list[tuple[int, list[Event]]]: ...
    async def last_row(self) -> int: ...
    async def history(
        self,
        *,
        limit: int,
        before: int | None = None,
        job_id: str | None = None,
        run_id: str | None = None,
        types: list[str] | None = None,
    ) -> list[Event]: ...
    async def last_id(self) -> int: ...


class Retention(Protocol):
    async def jobs_with_retention(
        self, *, after: str, limit: int
    ) -> list[tuple[str, Any, Any]]: ...
    async def prune_runs(
        self,
        *,
        now: datetime,
        policy: RetentionPolicy,
        limit: int,
        job: tuple[str, float | None, int | None] | None = None,
        dry_run: bool = False,
    ) -> int: ...
    async def prune_output(
        self, *, now: datetime, before: datetime, limit: int, dry_run: bool = False
    ) -> int: ...
    async def prune_audit(
        self, *, now: datetime, before: datetime, limit: int, dry_run: bool = False
    ) -> int: ...
    async def prune_workers(
        self, *, now: datetime, before: datetime, limit: int, dry_run: bool = False
    ) -> int: ...
    async def prune_events(
        self, *, now: datetime, before: datetime, limit: int, dry_run: bool = False
    ) -> int: ...


class Stats(Protocol):
    async def overview(self, *, now: datetime) -> dict[str, Any]: ...
    async def job_totals(self, job_id: str) -> JobStats: ...
    async def totals_at(self) -> int | None: ...
    async def add_totals(self, totals: Totals, *, since: int, upto: int, now: datetime) -> bool: ...


class Tokens(Protocol):
    async def insert(self, record: TokenRecord, *, digest: str, now: datetime) -> None: ...
    async def by_digest(self, digest: str) -> TokenRecord | None: ...
    async def used(self, token_id: str, *, now: datetime) -> None: ...
    async def revoke(self, token_id: str, *, now: datetime) -> None: ...
    async def all(self) -> list[TokenRecord]: ...
    async def count(self) -> int: ...


class Audit(Protocol):
    async def add(
        self,
        *,
        actor: str,
        role: str | None,
        action: str,
        target: str | None,
        details: dict[str, Any],
        namespace: str | None = None,
        now: datetime,
    ) -> None: ...
    async def recent(
        self,
        *,
        limit: int,
        before: int | None = None,
        actor: str | None = None,
        action: str | None = None,
        namespace: str | None = None,
    ) -> list[AuditEntry]: ...


class Alerts(Protocol):
    async def channel_put(self, ch: Channel, *, create: bool, now: datetime) -> None: ...
    async def channel_delete(self, namespace: str, name: str, *, now: datetime) -> None: ...
    async def channel(self, namespace: str, name: str) -> Channel | None: ...
    async def channels(self, namespaces: NamespaceFilter) -> list[Channel]: ...
    async def rule_put(self, rule: Rule, *, create: bool, now: datetime) -> None: ...
    async def rule_delete(self, namespace: str, name: str, *, now: datetime) -> None: ...
    async def rule(self, namespace: str, name: str) -> Rule | None: ...
    async def rules(self, namespaces: NamespaceFilter) -> list[Rule]: ...
    async def position(self) -> int | None: ...
    async def job_infos(self, job_ids: Sequence[str]) -> dict[str, JobInfo]: ...
    async def raise_alerts(
        self, alerts: Sequence[NewAlert], *, since: int, upto: int, now: datetime
    ) -> bool: ...
    async def add_alerts(self, alerts: Sequence[NewAlert], *, now: datetime) -> None: ...
    async def due(self, *, now: datetime, limit: int) -> list[Alert]: ...
    async def held(self, *, limit: int) -> list[Alert]: ...
    async def sent_since(self, namespace: str, rule: str, channel: str, since: datetime) -> int: ...
    async def record(
        self,
        alert_ids: Sequence[int],
        *,
        status: str,
        error: str | None,
        next_attempt_at: datetime | None,
        counted: bool = True,
        now: datetime,
        expected: Sequence[str] = ...,
    ) -> int: ...
    async def page(
        self,
        *,
        namespaces: NamespaceFilter,
        status: str | None,
        rule: str | None,
        limit: int,
        before: int | None,
    ) -> list[Alert]: ...
    async def get(self, alert_id: int) -> Alert | None: ...
    async def prune(self, *, before: datetime, limit: int, now: datetime) -> int: ...


class Watch(Protocol):
    async def watched_jobs(self, *, after: str, limit: int) -> list[WatchedJob]: ...
    async def recent_runs(self, job_id: str, *, since: datetime) -> list[RunTimes]: ...
    async def last_success(self, job_id: str) -> datetime | None: ...
    async def queued_by_namespace(self) -> dict[str, int]: ...
    async def record_breaches(
        self, breaches: Sequence[Breach], *, now: datetime
    ) -> list[Breach]: ...


__all__ = [
    "Alerts",
    "Audit",
    "Bulk",
    "Claims",
    "DeadLetters",
    "Events",
    "Jobs",
    "Reaper",
    "Reports",
    "Runs",
    "Schedule",
    "Stats",
    "Tokens",
    "Watch",
    "Workers",
]


class Store(Protocol):
    """The whole store, as the services see it: one part per thing it holds."""

    @property
    def jobs(self) -> Jobs: ...
    @property
    def runs(self) -> Runs: ...
    @property
    def dead_letters(self) -> DeadLetters: ...
    @property
    def claims(self) -> Claims: ...
    @property
    def reports(self) -> Reports: ...
    @property
    def workers(self) -> Workers: ...
    @property
    def reaper(self) -> Reaper: ...
    @property
    def schedule(self) -> Schedule: ...
    @property
    def events(self) -> Events: ...
    @property
    def stats(self) -> Stats: ...
    @property
    def retention(self) -> Retention: ...
    @property
    def tokens(self) -> Tokens: ...
    @property
    def audit(self) -> Audit: ...
    @property
    def bulk(self) -> Bulk: ...
    @property
    def alerts(self) -> Alerts: ...
    @property
    def watch(self) -> Watch: ...
    async def ping(self) -> bool: ...
