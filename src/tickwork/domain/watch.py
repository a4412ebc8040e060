"""What the leader's watch pass decides: SLA breaches of runs, silent jobs (a dead man's
switch) and queue backlogs. Each breach has a subject that makes it one breach however many
passes see it (store/watch_sql.py keeps one row per subject and writes its event once)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from tickwork.domain.alerts import JOB_SILENT, QUEUE_BACKLOG, SLA_BREACHED

FINISH_WITHIN = "finish_within"
MAX_DURATION = "max_duration"
SILENT = "silent"
BACKLOG = "backlog"
BACKLOG_EVERY = timedelta(hours=1)
"""A backlog that lasts raises again once per this long."""


@dataclass(frozen=True, slots=True)
class WatchedJob:
    id: str
    name: str
    namespace: str
    created_at: datetime
    finish_within: float | None = None
    max_duration: float | None = None
    expect_every: float | None = None


@dataclass(frozen=True, slots=True)
class RunTimes:
    id: str
    status: str
    queued_at: datetime
    scheduled_for: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Breach:
    kind: str
    subject: str
    job_id: str
    event: str
    run_id: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)


def lookback(job: WatchedJob) -> timedelta:
    """How far back (by queued time) a job's runs may still breach its SLA: twice its
    longest limit and an hour (a run queued before that has long been judged)."""
    longest = max(job.finish_within or 0.0, job.max_duration or 0.0)
    return timedelta(seconds=longest) * 2 + timedelta(hours=1)


def sla_breaches(job: WatchedJob, runs: Iterable[RunTimes], now: datetime) -> list[Breach]:
    """Runs of the job that finished (or are still unfinished) past ``finish_within`` after
    their scheduled time, or that ran (or are running) longer than ``max_duration``."""
    out: list[Breach] = []
    for run in runs:
        if job.finish_within is not None:
            due = (run.scheduled_for or run.queued_at) + timedelta(seconds=job.finish_within)
            if (run.finished_at or now) > due:
                out.append(_sla(job, run, FINISH_WITHIN, job.finish_within, due))
        if job.max_duration is not None and run.started_at is not None:
            ran = ((run.finished_at or now) - run.started_at).total_seconds()
            if ran > job.max_duration:
                out.append(_sla(job, run, MAX_DURATION, job.max_duration, run.started_at))
    return out


def _sla(job: WatchedJob, run: RunTimes, kind: str, limit: float, since: datetime) -> Breach:
    return Breach(
        kind=kind,
        subject=run.id,
        job_id=job.id,
        event=SLA_BREACHED,
        run_id=run.id,
        data={
            "sla": kind,
            "limit": limit,
            "since": since.isoformat(),
            "job_name": job.name,
            "subject": f"{run.id}:{kind}",
            "reason": f"{kind.replace('_', ' ')} {limit:g}s",
        },
    )


def silence(job: WatchedJob, last_success: datetime | None, now: datetime) -> Breach | None:
    """``job.silent`` when no run of the job succeeded within ``expect_every`` (counted from
    its last success, else from its creation); one breach per silent spell."""
    if job.expect_every is None:
        return None
    since = last_success or job.created_at
    if now - since <= timedelta(seconds=job.expect_every):
        return None
    subject = f"{job.id}@{since.isoformat()}"
    return Breach(
        kind=SILENT,
        subject=subject,
        job_id=job.id,
        event=JOB_SILENT,
        data={
            "since": since.isoformat(),
            "limit": job.expect_every,
            "job_name": job.name,
            "subject": subject,
            "reason": f"no successful run since {since.isoformat()}",
        },
    )


def backlogs(queued: Mapping[str, int], threshold: int | None, now: datetime) -> list[Breach]:
    """``queue.backlog`` for each namespace with more than ``threshold`` queued runs, once
    per ``BACKLOG_EVERY`` while it lasts."""
    if threshold is None:
        return []
    step = int(BACKLOG_EVERY.total_seconds())
    window = datetime.fromtimestamp(int(now.timestamp()) // step * step, tz=now.tzinfo)
    return [
        Breach(
            kind=BACKLOG,
            subject=f"{ns}@{window.isoformat()}",
            job_id="",
            event=QUEUE_BACKLOG,
            data={
                "namespace": ns,
                "queued": n,
                "limit": threshold,
                "subject": f"{ns}@{window.isoformat()}",
                "reason": f"{n} runs queued (more than {threshold})",
            },
        )
        for ns, n in sorted(queued.items())
        if n > threshold
    ]
