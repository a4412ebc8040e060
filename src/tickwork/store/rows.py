"""Conversion between database rows and tickwork's domain records (the store's edge)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, replace
from typing import Any

from tickwork.domain.alerts import Alert, Channel, Rule
from tickwork.domain.jobs import Dependency, HttpRequest, Job, JobSpec, dependency_of, job_status
from tickwork.domain.newruns import JobRef, QueuedRun
from tickwork.domain.outcomes import AttemptState
from tickwork.domain.quotas import rate_limit_of
from tickwork.domain.runs import Attempt, DeadLetter, Event, Run, Worker


def spec_to_json(spec: JobSpec) -> dict[str, Any]:
    """The spec as stored (its namespace too: what reads a spec alone, such as a new run,
    knows the job's namespace without another column; a spec stored before namespaces
    had none and is in ``default``)."""
    data = asdict(spec)
    data["request"] = spec.request.as_dict() if spec.request else None
    data["parameters"] = dict(spec.parameters)
    data["env"] = dict(spec.env)
    if isinstance(spec.command, tuple):
        data["command"] = list(spec.command)
    for key in ("tags", "worker_tags"):
        data[key] = list(data[key])
    data["depends_on"] = [dep.as_json() for dep in spec.depends_on]
    return data


def spec_from_json(data: Mapping[str, Any]) -> JobSpec:
    values = dict(data)
    request = values.get("request")
    if request:
        expected = request.get("expect_status")
        request = {**request, "expect_status": tuple(expected) if expected else None}
    values["request"] = HttpRequest(**request) if request else None
    for key in ("tags", "worker_tags"):
        values[key] = tuple(values.get(key) or ())
    values["depends_on"] = tuple(dependency_of(d) for d in values.get("depends_on") or ())
    if isinstance(values.get("command"), list):
        values["command"] = tuple(values["command"])
    values["rate_limit"] = rate_limit_of(values.get("rate_limit"))
    return JobSpec(**values)


def job_from_row(row: Any, depends_on: list[Dependency] | None = None) -> Job:
    spec = spec_from_json(row.spec)
    if depends_on is not None:
        spec = replace(spec, depends_on=tuple(depends_on))
    return Job(
        id=row.id,
        spec=spec,
        created_at=row.created_at,
        updated_at=row.updated_at,
        next_run=row.next_run,
        status=job_status(row.enabled, row.last_run_status),
        last_run_at=row.last_run_at,
        pipeline_id=getattr(row, "pipeline_id", None),
    )


def run_from_row(row: Any, *, output: str | None = None, job_name: str | None = None) -> Run:
    return Run(
        id=row.id,
        job_id=row.job_id,
        job_name=job_name if job_name is not None else row.job_name,
        namespace=row.namespace,
        trigger=row.trigger,
        idempotency_key=row.idempotency_key,
        parameters=row.parameters,
        status=row.status,
        attempt=row.attempt,
        max_attempts=row.max_attempts,
        timeout=row.timeout,
        queued_at=row.queued_at,
        scheduled_for=row.scheduled_for,
        worker_id=row.worker_id,
        fence=row.fence,
        lease_expires_at=row.lease_expires_at,
        not_before=row.not_before,
        started_at=row.started_at,
        finished_at=row.finished_at,
        duration=row.duration,
        exit_code=row.exit_code,
        result=row.result,
        error=row.error,
        error_summary=row.error_summary,
        upstream_run_ids=tuple(row.upstream_run_ids or ()),
        upstream=tuple(getattr(row, "upstream", None) or ()),
        cancel_requested=row.cancel_requested,
        cancelled_by=row.cancelled_by,
        output=output,
        one_off=bool(row.one_off),
        pipeline_run_id=getattr(row, "pipeline_run_id", None),
    )


def attempt_from_row(row: Any) -> Attempt:
    return Attempt(
        run_id=row.run_id,
        number=row.number,
        worker_id=row.worker_id,
        fence=row.fence,
        status=row.status,
        started_at=row.started_at,
        finished_at=row.finished_at,
        exit_code=row.exit_code,
        error=row.error,
        error_summary=row.error_summary,
        stdout=row.stdout,
        stderr=row.stderr,
        stdout_truncated=row.stdout_truncated,
        stderr_truncated=row.stderr_truncated,
        stdout_chunks=row.stdout_chunks,
        stderr_chunks=row.stderr_chunks,
        output_pruned=row.output_pruned,
    )


def worker_from_row(row: Any, active: int = 0) -> Worker:
    return Worker(
        id=row.id,
        hostname=row.hostname,
        pid=row.pid,
        tags=tuple(row.tags),
        concurrency=row.concurrency,
        version=row.version,
        status=row.status,
        registered_at=row.registered_at,
        last_heartbeat=row.last_heartbeat,
        active_jobs=active,
    )


def dead_letter_from_row(row: Any) -> DeadLetter:
    return DeadLetter(
        id=row.id,
        run_id=row.run_id,
        job_id=row.job_id,
        job_name=row.job_name,
        namespace=row.namespace,
        error=row.error,
        attempts=row.attempts,
        created_at=row.created_at,
        resolved_at=row.resolved_at,
        resolution=row.resolution,
        error_summary=row.error_summary,
        note=row.note,
        one_off=bool(row.one_off),
    )


def event_from_row(row: Any) -> Event:
    return Event(
        id=row.id,
        type=row.type,
        job_id=row.job_id,
        run_id=row.run_id,
        data=row.data,
        created_at=row.created_at,
    )


def job_ref(row: Any) -> JobRef:
    """A jobs row (id, name, route, priority, spec) as what new runs are made from (the
    namespace read from the spec, where a job's is stored too)."""
    return JobRef.of(
        job_id=row.id, name=row.name, route=row.route, priority=row.priority, spec=row.spec
    )


def queued_run_row(run: QueuedRun) -> dict[str, Any]:
    return {
        "id": run.id,
        "job_id": run.job_id,
        "namespace": run.namespace,
        "trigger": run.trigger,
        "scheduled_for": run.scheduled_for,
        "idempotency_key": run.idempotency_key,
        "parameters": run.parameters,
        "status": "queued",
        "route": run.route,
        "priority": run.priority,
        "attempt": 0,
        "max_attempts": run.max_attempts,
        "timeout": run.timeout,
        "bypass_concurrency": run.bypass_concurrency,
        "fence": 0,
        "queued_at": run.queued_at,
        "deadline_at": run.deadline_at,
        "cancel_requested": False,
        "upstream_run_ids": list(run.upstream_run_ids),
        "upstream": [dict(u) for u in run.upstream] or None,
        "pipeline_run_id": run.pipeline_run_id,
        "not_before": run.not_before,
        "ahead": run.ahead,
    }


def attempt_state(row: Any) -> AttemptState:
    return AttemptState(
        run_id=row.id,
        job_id=row.job_id,
        fence=row.fence,
        attempt=row.attempt,
        max_attempts=row.max_attempts,
        started_at=row.started_at,
        claimed_at=row.claimed_at,
        worker_id=row.worker_id,
        cancel_requested=row.cancel_requested,
    )


def channel_from_row(row: Any) -> Channel:
    cfg = row.config
    return Channel(
        name=row.name,
        type=row.type,
        namespace=row.namespace,
        url=cfg.get("url"),
        secret=cfg.get("secret"),
        to=tuple(cfg.get("to") or ()),
    )


def rule_from_row(row: Any) -> Rule:
    return Rule(
        name=row.name,
        events=tuple(row.events),
        jobs=tuple(row.jobs),
        channels=tuple(row.channels),
        namespace=row.namespace,
    )


def alert_from_row(row: Any) -> Alert:
    return Alert(
        id=row.id,
        namespace=row.namespace,
        rule=row.rule,
        channel=row.channel,
        kind=row.kind,
        subject=row.subject,
        job_id=row.job_id,
        run_id=row.run_id,
        payload=row.payload,
        status=row.status,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        last_error=row.last_error,
        created_at=row.created_at,
        sent_at=row.sent_at,
        history=tuple(row.history or ()),
    )


def channel_config(ch: Channel) -> dict[str, Any]:
    """A channel's url, secret and addresses as stored (the ``config`` column)."""
    url = dict(ch.url) if isinstance(ch.url, Mapping) else ch.url
    secret = dict(ch.secret) if isinstance(ch.secret, Mapping) else ch.secret
    return {"url": url, "secret": secret, "to": list(ch.to)}


def tag_rows(job: Job, *, listed: bool = True) -> list[dict[str, Any]]:
    """The ``job_tags`` rows of a job: each tag with the job's name and namespace (the job
    list by tag reads them in its order), ``listed`` False for a one-off run's hidden row."""
    return [
        {
            "job_id": job.id,
            "tag": tag,
            "name": job.name,
            "namespace": job.spec.namespace,
            "listed": listed,
        }
        for tag in sorted(set(job.spec.tags))
    ]
