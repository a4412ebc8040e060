"""What callers ask the store for: filters, new runs, aggregate answers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class JobFilter:
    status: str | None = None
    tag: str | None = None
    schedule_type: str | None = None
    q: str | None = None


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


@dataclass(frozen=True, slots=True)
class RunFilter:
    status: str | None = None
    job_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None
