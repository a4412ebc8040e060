"""The drill's invariants, as pure functions over what the database and the jobs recorded.

Ticks: every nominal tick of a job's interval schedule, from its first up to the last whose
time had come before the drill paused the job, has exactly one run (none missed, none
doubled, none off the schedule's phase). Runs: every run reached ``completed`` (none lost)
and was executed exactly once (each execution appends its run id to a log).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class RunRow:
    job: str
    run_id: str
    scheduled_for: datetime
    status: str


@dataclass(frozen=True, slots=True)
class TickVerdict:
    job: str
    expected: int
    missed: list[datetime]
    doubled: list[datetime]
    off_schedule: list[datetime]

    @property
    def ok(self) -> bool:
        return not (self.missed or self.doubled or self.off_schedule)


@dataclass(frozen=True, slots=True)
class RunVerdict:
    runs: int
    lost: dict[str, str] = field(default_factory=dict)
    """Run id → status, for each run that did not complete."""
    doubled: dict[str, int] = field(default_factory=dict)
    """Run id → executions, for each run executed more than once."""
    unexecuted: list[str] = field(default_factory=list)
    """Completed runs with no execution on record."""
    unknown: list[str] = field(default_factory=list)
    """Executions of a run the database does not have."""

    @property
    def ok(self) -> bool:
        return not (self.lost or self.doubled or self.unexecuted or self.unknown)


def expected_ticks(first: datetime, every: timedelta, until: datetime) -> list[datetime]:
    """The nominal ticks ``first``, ``first + every`` … up to and including ``until``."""
    ticks = []
    tick = first
    while tick <= until:
        ticks.append(tick)
        tick += every
    return ticks


def check_ticks(
    job: str, runs: Iterable[RunRow], *, first: datetime, every: timedelta, until: datetime
) -> TickVerdict:
    """Compare a job's schedule runs with the ticks it should have had by ``until``."""
    expected = expected_ticks(first, every, until)
    want = set(expected)
    seen = Counter(r.scheduled_for for r in runs if r.job == job)
    on_phase = {t for t in seen if (t - first) % every == timedelta(0) and t >= first}
    return TickVerdict(
        job=job,
        expected=len(expected),
        missed=sorted(t for t in want if t not in seen),
        doubled=sorted(t for t, n in seen.items() if n > 1),
        off_schedule=sorted(t for t in seen if t not in on_phase),
    )


def check_runs(runs: Sequence[RunRow], executions: Iterable[str]) -> RunVerdict:
    """Every run completed, and each was executed once (``executions``: one run id per
    execution, as the jobs logged them)."""
    done = Counter(executions)
    ids = {r.run_id for r in runs}
    return RunVerdict(
        runs=len(runs),
        lost={r.run_id: r.status for r in runs if r.status != "completed"},
        doubled={i: n for i, n in done.items() if n > 1},
        unexecuted=sorted(
            r.run_id for r in runs if r.status == "completed" and r.run_id not in done
        ),
        unknown=sorted(i for i in done if i not in ids),
    )
