"""What callers ask the store for: filters, new runs, aggregate answers."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from tickwork.domain.auth import Principal
from tickwork.domain.namespaces import DEFAULT_NAMESPACE, EVERY_NAMESPACE, NamespaceFilter
from tickwork.domain.records import AuditNote


@dataclass(frozen=True, slots=True)
class JobFilter:
    status: str | None = None
    tag: str | None = None
    schedule_type: str | None = None
    q: str | None = None
    namespaces: NamespaceFilter = EVERY_NAMESPACE


@dataclass(frozen=True, slots=True)
class Total:
    """How many items a list's filter matches: exact up to a bound, estimated above it (an
    exact count of a million rows costs as much as reading them)."""

    count: int
    exact: bool = True


@dataclass(frozen=True, slots=True)
class JobStats:
    total_runs: int
    completed: int
    failed: int
    avg_duration: float | None

    @property
    def success_rate(self) -> float | None:
        finished = self.completed + self.failed
        return self.completed / finished if finished else None


@dataclass(frozen=True, slots=True)
class NewRun:
    """A run to create for one job."""

    job_id: str
    trigger: str
    parameters: Mapping[str, Any] = field(default_factory=dict)
    idempotency_key: str | None = None
    scheduled_for: datetime | None = None
    upstream_run_ids: tuple[str, ...] = ()
    due_at: datetime | None = None  # a schedule tick's fire time (nominal + jitter offset)
    pipeline_run_id: str | None = None  # the pipeline run the new run is a task of


@dataclass(frozen=True, slots=True)
class TriggerRequest:
    """A manual trigger as the API received it: the job by id or name, the run's parameters
    and idempotency key, and the audit entry to write with the run."""

    ref: str
    parameters: Mapping[str, Any] = field(default_factory=dict)
    idempotency_key: str | None = None
    audit: AuditNote | None = None
    namespace: str = DEFAULT_NAMESPACE  # where a name is looked up
    who: Principal | None = None  # None: no permission to check (the caller's own use)


RUN_SORTS: tuple[str, ...] = ("queued_at", "started_at", "duration")
"""What a runs list may be sorted by (runs not started yet, with neither, come last)."""

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_RELATIVE = re.compile(r"^-(\d{1,6})([smhdw])$")


@dataclass(frozen=True, slots=True)
class RunFilter:
    status: str | None = None
    job_id: str | None = None
    namespaces: NamespaceFilter = EVERY_NAMESPACE
    since: datetime | None = None
    until: datetime | None = None
    sort: str = "queued_at"
    descending: bool = True


def moment(text: str, *, now: datetime) -> datetime:
    """A point in time as a list's filter gives it: ISO 8601 with a zone offset, or relative
    to ``now`` ("-24h", "-30m", "-7d", "-2w", "-90s"). ValueError says what is wrong."""
    found = _RELATIVE.match(text.strip())
    if found:
        return now - timedelta(seconds=int(found[1]) * _UNITS[found[2]])
    try:
        at = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise ValueError("must be an ISO 8601 time (with an offset) or like -24h") from exc
    if at.tzinfo is None:
        raise ValueError("needs a time zone offset, e.g. Z")
    return at


@dataclass(frozen=True, slots=True)
class RunSelection:
    """The runs a bulk action applies to: these ids, or those matching the filter."""

    ids: tuple[str, ...] = ()
    job_id: str | None = None
    statuses: tuple[str, ...] = ()
    namespaces: NamespaceFilter = EVERY_NAMESPACE  # runs of other namespaces are left alone

    @property
    def by_ids(self) -> bool:
        return bool(self.ids)


@dataclass(frozen=True, slots=True)
class DeadLetterSelection:
    """The open dead letters a bulk action applies to: these ids, or those matching the
    filter (a job, an exact error summary)."""

    ids: tuple[str, ...] = ()
    job_id: str | None = None
    error_summary: str | None = None
    without_summary: bool = False  # those with no summary (failed before summaries existed)
    namespaces: NamespaceFilter = EVERY_NAMESPACE  # entries of other namespaces are left alone

    @property
    def by_ids(self) -> bool:
        return bool(self.ids)


@dataclass(frozen=True, slots=True)
class DeadLetterGroup:
    """Open dead letters of one job with one error summary."""

    job_id: str
    job_name: str
    error_summary: str | None
    count: int
    latest_at: datetime
