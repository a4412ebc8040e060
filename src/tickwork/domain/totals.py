"""Run totals kept as the runs finish: per hour (the overview's series and failures) and per
job (a job's counts and mean duration), so reading them costs the same at any number of runs.

The scheduler's leader folds finished runs into these totals from the event outbox, in the
same transaction that moves its stored place in the outbox (service/projection.py), so each
finish counts once. A run counts once per time it finishes: a run retried by hand after it
failed, and then completed, counts as one failure and one completion.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from tickwork.domain.runs import TERMINAL, Event

FINISHED_EVENTS: dict[str, str] = {f"run.{status}": status for status in TERMINAL}
"""The event of each finished status (run.completed, run.failed, run.cancelled, run.missed)."""


def hour_of(at: datetime) -> datetime:
    return at.replace(minute=0, second=0, microsecond=0)


@dataclass(slots=True)
class JobTotal:
    runs: int = 0
    seconds: float = 0.0
    """Summed durations of the runs that report one (``timed`` of them)."""
    timed: int = 0


@dataclass(slots=True)
class Totals:
    """What a stretch of the outbox adds to the totals."""

    hours: dict[tuple[datetime, str], int] = field(default_factory=dict)
    jobs: dict[tuple[str, str], JobTotal] = field(default_factory=dict)

    def add(self, events: Iterable[Event]) -> Totals:
        for e in events:
            status = FINISHED_EVENTS.get(e.type)
            if status is None or e.job_id is None:
                continue
            key = (hour_of(e.created_at), status)
            self.hours[key] = self.hours.get(key, 0) + 1
            total = self.jobs.setdefault((e.job_id, status), JobTotal())
            total.runs += 1
            duration = e.data.get("duration") if isinstance(e.data, dict) else None
            if isinstance(duration, int | float) and not isinstance(duration, bool):
                total.seconds += float(duration)
                total.timed += 1
        return self

    def add_counted(
        self, *, job_id: str, hour: datetime, status: str, runs: int, seconds: float, timed: int
    ) -> None:
        """Finishes already summed (by the database): ``runs`` of ``job_id`` that ended
        ``status`` within ``hour``, ``timed`` of them lasting ``seconds`` in all."""
        key = (hour_of(hour), status)
        self.hours[key] = self.hours.get(key, 0) + runs
        total = self.jobs.setdefault((job_id, status), JobTotal())
        total.runs += runs
        total.seconds += seconds
        total.timed += timed

    def __bool__(self) -> bool:
        return bool(self.hours)
