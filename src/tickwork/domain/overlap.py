"""``on_overlap``: what a new run of a job does when the job already has one queued or running.

The one place the policy lives; the store only applies the decision (a trigger returns the
active run instead of queuing, a tick records a skip, ``cancel_previous`` stops the old ones).
"""

from __future__ import annotations

from dataclasses import dataclass

SKIP_REASON = "previous run still active (on_overlap=skip)"


@dataclass(frozen=True, slots=True)
class Queue:
    """Queue the new run (no active run, or the job allows or queues overlaps)."""


@dataclass(frozen=True, slots=True)
class Skip:
    """Make no new run: ``active`` is still queued or running (on_overlap=skip)."""

    active: str
    reason: str = SKIP_REASON


@dataclass(frozen=True, slots=True)
class Supersede:
    """Cancel the job's queued runs, stop its running ones, then queue the new run."""


Overlap = Queue | Skip | Supersede


def decide_overlap(on_overlap: str, active: str | None) -> Overlap:
    """The decision for a new run of a job whose oldest active run is ``active`` (or None).

    ``allow`` and ``queue`` always queue (``allow`` runs alongside, ``queue`` waits its turn
    under the job's concurrency); ``skip`` keeps the active run; ``cancel_previous`` replaces it.
    """
    if active is None or on_overlap in ("allow", "queue"):
        return Queue()
    if on_overlap == "cancel_previous":
        return Supersede()
    return Skip(active)


def needs_active(on_overlap: str) -> bool:
    """Whether a new run's decision depends on the job's active runs (``skip`` keeps the
    oldest, ``cancel_previous`` replaces them); ``allow`` and ``queue`` never look, so a
    trigger of theirs neither locks the job nor reads its queue."""
    return on_overlap in ("skip", "cancel_previous")


def runs_alongside(on_overlap: str) -> bool:
    """Runs of a job with ``allow`` ignore its concurrency limit when claimed."""
    return on_overlap == "allow"
