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


# --- runs written ahead of their tick ------------------------------------------------------


def decided_at_tick(on_overlap: str) -> bool:
    """Whether a run written ahead of its tick (``schedule_ahead``) still waits for its
    overlap decision until its fire time: ``skip`` and ``cancel_previous`` look at the
    job's active runs, which only the fire time knows; ``allow`` and ``queue`` are decided
    when written (they always queue)."""
    return needs_active(on_overlap)


def at_tick(on_overlap: str, earlier_active: str | None) -> Overlap:
    """The decision for a run written ahead, at its fire time: as for a new run then, where
    ``earlier_active`` is one of the job's runs active before it (running, queued and due,
    or an earlier tick's run), never a later tick's run written ahead and not yet due.

    The store applies it set-based: a claim passes over a ``skip`` or ``cancel_previous``
    run written ahead while an earlier active run of its job exists; the scheduler's pass
    at the tick removes the ``skip`` runs that lost (``Skip``: a ``run.skipped`` event)
    and stops the runs a ``cancel_previous`` run supersedes (``Supersede``)."""
    return decide_overlap(on_overlap, earlier_active)
