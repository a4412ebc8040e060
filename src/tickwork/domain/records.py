"""Results of store use cases that the services and the API pass on."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tickwork.domain.runs import Assignment


@dataclass(frozen=True, slots=True)
class Finished:
    """A run that has just reached a final state (completed, failed, missed, cancelled):
    what the store's ``finish_hooks.after_finish`` is called with."""

    job_id: str
    run_id: str
    status: str
    error_summary: str | None = None
    cancelled_by: str | None = None
    """Who cancelled a cancelled run (``cancel_previous``: a newer run superseded it)."""


@dataclass(frozen=True, slots=True)
class ReportResult:
    run_id: str
    ok: bool
    status: str | None = None
    error: str | None = None
    job_name: str | None = None
    duration: float | None = None
    outcome: str | None = None
    job_id: str | None = None
    not_before: datetime | None = None  # a retry's due time (the run is queued until then)


@dataclass(frozen=True, slots=True)
class ClaimAsk:
    """The claim a worker's report carries: up to ``limit`` runs on ``routes`` (of
    ``namespaces`` only, for a worker held to some), leased for ``lease`` seconds, their
    starts confirmed within ``ack_timeout``."""

    worker_id: str
    routes: Sequence[str]
    limit: int
    lease: float
    ack_timeout: float
    namespaces: Sequence[str] | None = None


@dataclass(frozen=True, slots=True)
class Report:
    """The answers to one worker report, item by item in the order it named them."""

    starts: list[ReportResult]
    logs: list[ReportResult]
    completions: list[ReportResult]
    releases: list[ReportResult] = field(default_factory=list)
    claimed: list[Assignment] | None = None
    """What the claim the report carried took in the report's own transaction; None when
    it was not claimed there (none asked, or it needs the claim's own transaction)."""


@dataclass(frozen=True, slots=True)
class Triggered:
    run_id: str
    status: str
    created: bool
    stopping: list[tuple[str, str]] = field(default_factory=list)
    """(run id, worker id) of each running run this trigger asked to stop
    (on_overlap=cancel_previous): their workers must be told at once."""


@dataclass(frozen=True, slots=True)
class HeartbeatResult:
    cancel: list[str]  # runs the worker must stop
    stale: list[str]  # runs the worker no longer owns (kill them)


@dataclass(frozen=True, slots=True)
class ReapResult:
    lost_workers: list[str]
    expired: list[str]  # running runs whose lease ran out
    unacked: list[str]  # claims never confirmed, back in the queue
    missed: list[str]  # queued runs past their start deadline

    @property
    def changed(self) -> bool:
        return bool(self.lost_workers or self.expired or self.unacked or self.missed)


@dataclass(frozen=True, slots=True)
class TokenRecord:
    id: str
    name: str
    role: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None
    scopes: Mapping[str, str] | None = None  # namespace (or '*') → role; None: {'*': role}
    worker_tags: tuple[str, ...] | None = None  # the only tags a worker may register with
    rate_limit: int | None = None  # requests per second; None: the server's default


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    role: str | None
    action: str
    target: str | None
    details: dict[str, Any]
    namespace: str | None = None


@dataclass(frozen=True, slots=True)
class AuditNote:
    """An audit entry to write in the same transaction as the change it records."""

    actor: str
    role: str | None
    action: str
    target: str | None
    details: dict[str, Any]
    namespace: str | None = None


@dataclass(frozen=True, slots=True)
class TickResult:
    jobs: int
    created: int
    skipped: int
    lags: list[float]  # seconds between each fired tick and its run's creation
    stopping: list[tuple[str, str]] = field(default_factory=list)
    """(run id, worker id) of each running run a tick asked to stop (cancel_previous)."""
    ahead: list[datetime] = field(default_factory=list)
    """The fire time of each run written ahead of it (``schedule_ahead``): its lag is how
    late its commit came after it (0 if before), known only once the pass committed."""


@dataclass(frozen=True, slots=True)
class BulkResult:
    """What a bulk action changed: how many, which, and the workers to tell."""

    count: int
    ids: list[str] = field(default_factory=list)
    stopping: list[tuple[str, str]] = field(default_factory=list)
    """(run id, worker id) of each running run asked to stop."""
