"""Folding finished runs into totals (domain/totals.py)."""

from __future__ import annotations

from datetime import UTC, datetime

from tickwork.domain.runs import Event
from tickwork.domain.totals import Totals, hour_of

AT = datetime(2026, 3, 1, 9, 41, 7, tzinfo=UTC)


def event(kind: str, job: str | None = "job-a", **data: object) -> Event:
    return Event(id=1, type=kind, job_id=job, run_id="run-1", data=dict(data), created_at=AT)


def test_only_finishes_count_by_hour_job_and_status() -> None:
    totals = Totals().add(
        [
            event("run.completed", duration=2.0),
            event("run.completed", duration=4),
            event("run.completed"),  # no duration: counted, not timed
            event("run.failed", duration=1.0),
            event("run.cancelled", "job-b"),
            event("run.missed", duration=True),  # not a duration
            event("run.retrying", duration=9.0),  # not finished
            event("run.started"),
            event("run.queued"),
            event("job.status"),
            event("run.completed", None),  # no job: not a job's run
        ]
    )
    hour = hour_of(AT)
    assert hour == datetime(2026, 3, 1, 9, tzinfo=UTC)
    assert totals.hours == {
        (hour, "completed"): 3,
        (hour, "failed"): 1,
        (hour, "cancelled"): 1,
        (hour, "missed"): 1,
    }
    done = totals.jobs[("job-a", "completed")]
    assert (done.runs, done.seconds, done.timed) == (3, 6.0, 2)
    assert totals.jobs[("job-a", "missed")].timed == 0
    assert ("job-b", "cancelled") in totals.jobs and bool(totals)
    assert not Totals().add([event("run.started")])
