"""What history is kept, and for how long: the retention policy, as pure rules.

The store applies these rules as SQL in batches (store/retention_sql.py); the rules themselves
live here so they can be read and tested on their own.

Runs
    A finished run goes when it is older than the job's ``retention_days`` (else the server's
    ``retain_runs_days``) **or** when the job keeps a count (``retention_runs``) and the run is
    not among that many newest runs of the job. Whichever limit removes more applies, as in
    CI servers' "days to keep / builds to keep". Never pruned, whatever its age:

    - a run still queued or running;
    - the job's latest run (its status is the job's status);
    - a run with an unresolved dead letter (someone still has to look at it).

    A pruned run takes its attempts, their output and its resolved dead letters with it.

    A one-off run (domain/oneoff.py) is the only run of its hidden definition: it goes by the
    server's age limit although it is that definition's latest run, and takes the definition
    with it (its dead-letter rule stands).

Output
    The stdout and stderr of attempts of finished runs that started more than
    ``retain_output_days`` ago are cleared (the attempt, its exit code and error stay, marked
    ``output_pruned``).

Audit entries, worker rows and events
    Audit entries older than ``retain_audit_days``; workers that are no longer online and were
    last heard of more than ``retain_workers_days`` ago; events older than
    ``event_retention_hours``.

Age is counted from when a run was queued: a run's age never changes once it exists, and the
store walks runs oldest first along the index it already keeps on ``queued_at``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from tickwork.domain.runs import TERMINAL

PRUNED_KINDS: tuple[str, ...] = ("runs", "output", "audit", "workers", "events", "pipeline_runs")
"""What the pruner removes, in the order of a pass (also the metric's ``kind`` label)."""


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    """The server-wide limits (settings ``TICKWORK_RETAIN_*``); jobs may override runs'."""

    runs_days: float = 30.0
    output_days: float = 7.0
    audit_days: float = 365.0
    workers_days: float = 7.0
    events_hours: float = 24.0

    def cutoffs(self, now: datetime) -> Cutoffs:
        return Cutoffs(
            runs=now - timedelta(days=self.runs_days),
            output=now - timedelta(days=self.output_days),
            audit=now - timedelta(days=self.audit_days),
            workers=now - timedelta(days=self.workers_days),
            events=now - timedelta(hours=self.events_hours),
        )

    def runs_before(self, now: datetime, job_days: float | None) -> datetime:
        """Runs of a job queued before this may go (the job's own limit wins)."""
        return now - timedelta(days=self.runs_days if job_days is None else job_days)


@dataclass(frozen=True, slots=True)
class Cutoffs:
    """Everything older than these instants may go (runs: unless a job says otherwise)."""

    runs: datetime
    output: datetime
    audit: datetime
    workers: datetime
    events: datetime


@dataclass(frozen=True, slots=True)
class RunFacts:
    """What the rule needs to know of one run."""

    status: str
    queued_at: datetime
    newer_runs: int
    """How many runs of the same job are newer than this one (0: it is the latest). A run
    written ahead of its tick is none until its fire time."""
    open_dead_letter: bool
    one_off: bool = False
    """A one-off run: its definition has no other run and no status of its own to keep."""


def run_prunable(run: RunFacts, *, before: datetime, keep_last: int | None) -> bool:
    """Whether retention removes this run. ``before``: the job's age cutoff
    (``RetentionPolicy.runs_before``); ``keep_last``: the job's ``retention_runs``."""
    if run.status not in TERMINAL or run.open_dead_letter:
        return False
    if run.one_off:
        return run.queued_at < before
    if run.newer_runs == 0:
        return False
    too_old = run.queued_at < before
    beyond_count = keep_last is not None and run.newer_runs >= keep_last
    return too_old or beyond_count


@dataclass(frozen=True, slots=True)
class PruneCounts:
    """Rows removed (or, in a dry run, that would be) by kind."""

    runs: int = 0
    output: int = 0
    audit: int = 0
    workers: int = 0
    events: int = 0
    pipeline_runs: int = 0
    """Finished pipeline runs past the runs' age limit, never a pipeline's latest run."""

    def __add__(self, other: PruneCounts) -> PruneCounts:
        return PruneCounts(*(getattr(self, kind) + getattr(other, kind) for kind in PRUNED_KINDS))

    def as_dict(self) -> dict[str, int]:
        return {kind: getattr(self, kind) for kind in PRUNED_KINDS}

    @property
    def total(self) -> int:
        return sum(self.as_dict().values())
