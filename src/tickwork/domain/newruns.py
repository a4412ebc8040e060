"""What a new run of a job looks like when it is queued: one pure function, every trigger."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from tickwork.domain.namespaces import DEFAULT_NAMESPACE
from tickwork.domain.overlap import runs_alongside
from tickwork.domain.queries import NewRun


@dataclass(frozen=True, slots=True)
class JobRef:
    """The parts of a job a new run is made from."""

    id: str
    name: str
    route: str
    priority: int
    parameters: Mapping[str, Any]
    retries: int
    timeout: float
    on_overlap: str
    start_deadline: float | None
    namespace: str = DEFAULT_NAMESPACE

    @classmethod
    def of(
        cls, *, job_id: str, name: str, route: str, priority: int, spec: Mapping[str, Any]
    ) -> JobRef:
        """From a job's stored spec (its documented defaults where a field is missing)."""
        return cls(
            id=job_id,
            name=name,
            route=route,
            priority=priority,
            parameters=spec.get("parameters") or {},
            retries=int(spec.get("retries", 3)),
            timeout=float(spec.get("timeout", 3600.0)),
            on_overlap=str(spec.get("on_overlap", "skip")),
            start_deadline=spec.get("start_deadline"),
            namespace=str(spec.get("namespace") or DEFAULT_NAMESPACE),
        )


@dataclass(frozen=True, slots=True)
class QueuedRun:
    """A run as it is first stored: queued, no attempt made yet."""

    id: str
    job_id: str
    trigger: str
    scheduled_for: datetime | None
    idempotency_key: str
    parameters: dict[str, Any]
    route: str
    priority: int
    max_attempts: int
    timeout: float
    bypass_concurrency: bool
    queued_at: datetime
    deadline_at: datetime | None
    upstream_run_ids: tuple[str, ...]
    namespace: str = DEFAULT_NAMESPACE
    upstream: tuple[Mapping[str, Any], ...] = ()
    pipeline_run_id: str | None = None
    not_before: datetime | None = None
    """Not claimable before then: a run written ahead of its tick (its fire time)."""
    ahead: str | None = None
    """A run written ahead of its tick: its job's ``on_overlap`` (domain/overlap.py)."""


def written_ahead(run: QueuedRun, fire_at: datetime, on_overlap: str) -> QueuedRun:
    """A tick's run written before its fire time (``schedule_ahead``): claimable from then,
    queued as of then (its place in the claim's order), its overlap decided then when the
    job's ``on_overlap`` asks for one (``decided_at_tick``)."""
    return replace(run, not_before=fire_at, queued_at=fire_at, ahead=on_overlap)


def queued_run(job: JobRef, new: NewRun, *, run_id: str, now: datetime) -> QueuedRun:
    """The run ``new`` asks for: the job's parameters under the trigger's, the job's retries
    and timeout, a start deadline counted from its fire time (a jittered tick's, else its
    scheduled time, else now), its own id as idempotency key unless one was given."""
    deadline = None
    if job.start_deadline:
        start = new.due_at or new.scheduled_for or now
        deadline = start + timedelta(seconds=job.start_deadline)
    return QueuedRun(
        id=run_id,
        job_id=job.id,
        trigger=new.trigger,
        scheduled_for=new.scheduled_for,
        idempotency_key=new.idempotency_key or run_id,
        parameters={**job.parameters, **dict(new.parameters)},
        route=job.route,
        priority=job.priority,
        max_attempts=job.retries + 1,
        timeout=job.timeout,
        bypass_concurrency=runs_alongside(job.on_overlap),
        queued_at=now,
        deadline_at=deadline,
        upstream_run_ids=tuple(new.upstream_run_ids),
        namespace=job.namespace,
        upstream=tuple(new.upstream),
        pipeline_run_id=new.pipeline_run_id,
    )
