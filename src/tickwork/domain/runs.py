"""Run statuses and the transitions between them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

RunStatus = Literal["queued", "running", "completed", "failed", "cancelled", "missed"]
Trigger = Literal["schedule", "manual", "dependency", "replay"]
AttemptOutcome = Literal["completed", "failed", "timed_out", "cancelled", "lost"]

ACTIVE: frozenset[str] = frozenset({"queued", "running"})
TERMINAL: frozenset[str] = frozenset({"completed", "failed", "cancelled", "missed"})
RUN_STATUSES: tuple[str, ...] = ("queued", "running", "completed", "failed", "cancelled", "missed")

_ALLOWED: dict[str, frozenset[str]] = {
    "queued": frozenset({"running", "cancelled", "missed"}),
    "running": frozenset({"queued", "completed", "failed", "cancelled"}),
    "failed": frozenset({"queued"}),  # retry / replay starts a new attempt series
    "cancelled": frozenset({"queued"}),
    "missed": frozenset({"queued"}),
    "completed": frozenset(),
}


def can_transition(current: str, target: str) -> bool:
    return target in _ALLOWED.get(current, frozenset())


def is_retryable_outcome(outcome: str) -> bool:
    """Cancelled attempts are never retried; every other failure may be."""
    return outcome in {"failed", "timed_out", "lost"}


def truncate_output(text: str, limit: int) -> tuple[str, bool]:
    """Keep the last ``limit`` bytes of ``text`` (UTF-8), marking the cut."""
    data = text.encode()
    if len(data) <= limit:
        return text, False
    tail = data[-limit:].decode(errors="ignore")
    return f"[… output truncated: kept the last {limit} bytes …]\n" + tail, True


@dataclass(frozen=True, slots=True)
class Attempt:
    run_id: str
    number: int
    worker_id: str | None
    fence: int
    status: str
    started_at: datetime
    finished_at: datetime | None = None
    exit_code: int | None = None
    error: str | None = None
    error_summary: str | None = None
    stdout: str = ""
    stderr: str = ""
    stdout_truncated: bool = False
    stderr_truncated: bool = False
    stdout_chunks: int = 0
    stderr_chunks: int = 0
    output_pruned: bool = False
    """Retention cleared stdout and stderr (domain/retention.py)."""

    @property
    def duration(self) -> float | None:
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()


@dataclass(frozen=True, slots=True)
class Run:
    id: str
    job_id: str
    job_name: str
    trigger: str
    idempotency_key: str
    parameters: Mapping[str, Any]
    status: str
    attempt: int
    max_attempts: int
    timeout: float
    queued_at: datetime
    scheduled_for: datetime | None = None
    worker_id: str | None = None
    fence: int = 0
    lease_expires_at: datetime | None = None
    not_before: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    duration: float | None = None
    exit_code: int | None = None
    result: Any = None
    error: str | None = None
    error_summary: str | None = None
    upstream_run_ids: tuple[str, ...] = ()
    cancel_requested: bool = False
    cancelled_by: str | None = None
    output: str | None = None  # stdout of the latest attempt, when loaded
    pipeline_run_id: str | None = None  # the pipeline run it is a task of
    namespace: str = "default"


@dataclass(frozen=True, slots=True)
class Worker:
    id: str
    hostname: str
    pid: int
    tags: tuple[str, ...]
    concurrency: int
    version: str
    status: str
    registered_at: datetime
    last_heartbeat: datetime
    active_jobs: int = 0


@dataclass(frozen=True, slots=True)
class DeadLetter:
    id: str
    run_id: str
    job_id: str
    job_name: str
    error: str | None
    attempts: int
    created_at: datetime
    resolved_at: datetime | None = None
    resolution: str | None = None
    error_summary: str | None = None
    note: str | None = None
    namespace: str = "default"


@dataclass(frozen=True, slots=True)
class Event:
    id: int
    type: str
    job_id: str | None
    run_id: str | None
    data: Mapping[str, Any]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Assignment:
    """A claimed run handed to a worker: what to run and the fence that owns it."""

    run_id: str
    job_id: str
    job_name: str
    attempt: int  # the number this attempt has once its start is confirmed
    fence: int
    idempotency_key: str
    parameters: Mapping[str, Any]
    timeout: float
    worker_id: str
    job_type: str
    target: Mapping[str, Any]
    isolation: str
    lease_expires_at: datetime
    ack_deadline: datetime
    claim_held: float = 0.0
    """Seconds the coordinator held the claim request (a long-poll) before claiming this run,
    by its own monotonic clock: the worker counts the ack window from its send plus this."""
    delivery: str = "at_least_once"
    """``at_most_once``: the worker executes only once the coordinator took the start."""


@dataclass(frozen=True, slots=True)
class Completion:
    """What a worker reports when an attempt ends."""

    run_id: str
    fence: int
    outcome: str  # AttemptOutcome
    exit_code: int | None = None
    result: Any = None
    error: str | None = None
    elapsed: float | None = None  # seconds it ran, by the worker's clock
