"""Trigger rules: when a run's end queues a run of the jobs that depend on its job.

An edge ``dependent → upstream`` carries a condition (``Dependency.on``):

- ``success``: the upstream run ``completed``;
- ``failure``: it ended ``failed`` (its code failed, timed out or its worker was lost, with no
  retry left; at most once, a lost or timed-out attempt is not retried) or ``missed`` (not
  started before its start deadline);
- ``done``: it reached any final state: completed, failed, missed or ``cancelled``.

An attempt that will be retried ends nothing: its run goes back to ``queued`` and fires no
one. A cancelled run is neither a success nor a failure, only ``done``; a run cancelled
because a newer run of its job superseded it (``on_overlap: cancel_previous``) fires nothing:
the newer run does when it ends.

The dependent's ``trigger_rule`` says how its edges combine: ``all`` (every edge's condition
holds) or ``any`` (one is enough). What an edge is judged on is the **latest final run** of
its upstream job **since the dependent's own latest run** (none: the edge does not hold), so
an upstream that failed and then succeeded counts as succeeded, and each run of the
dependent uses up what came before it. A run is fired only by an upstream run whose own
edge holds (the run that just finished), so a finish that matters to no edge fires nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tickwork.domain.jobs import DependOn, TriggerRule

ERROR_LIMIT = 4000
"""Characters of an upstream run's error a fired run gets (the end: a traceback's last line
says what went wrong)."""

SUCCESS = frozenset({"completed"})
FAILURE = frozenset({"failed", "missed"})
FINAL = frozenset({"completed", "failed", "missed", "cancelled"})


SUPERSEDED = "cancel_previous"
"""``cancelled_by`` of a run a newer run of its job replaced (``on_overlap: cancel_previous``)."""


def fires_dependents(status: str, cancelled_by: str | None = None) -> bool:
    """Whether a run that reached ``status`` is an end its dependents hear of: any final
    state, except a cancel by a newer run of the same job (that run ends in its place)."""
    return status in FINAL and not (status == "cancelled" and cancelled_by == SUPERSEDED)


def holds(on: DependOn, status: str) -> bool:
    """Whether a run that ended ``status`` meets an edge's condition ``on``."""
    if on == "success":
        return status in SUCCESS
    if on == "failure":
        return status in FAILURE
    return status in FINAL


@dataclass(frozen=True, slots=True)
class UpstreamRun:
    """An upstream job's latest final run, as its dependents see it."""

    job_id: str
    run_id: str
    job: str
    """The upstream job's name (``namespace/name`` when of another namespace)."""
    status: str
    error: str | None = None
    error_summary: str | None = None

    def as_context(self) -> dict[str, Any]:
        """What the fired run's code gets (``ctx.upstream``, ``TICKWORK_UPSTREAM``)."""
        return {
            "run_id": self.run_id,
            "job": self.job,
            "status": self.status,
            "error": self.error[-ERROR_LIMIT:] if self.error else self.error,
            "error_summary": self.error_summary,
        }


@dataclass(frozen=True, slots=True)
class Edge:
    """One dependency of the dependent, by upstream job id."""

    upstream: str
    on: DependOn = "success"


def decide_fire(
    edges: Sequence[Edge],
    rule: TriggerRule,
    latest: Mapping[str, UpstreamRun],
    *,
    finished: str,
) -> tuple[UpstreamRun, ...] | None:
    """The upstream runs that fire a run of the dependent now, or None when it does not fire.

    ``latest`` maps an upstream job id to its latest final run since the dependent's own
    latest run (missing: none); ``finished`` is the upstream job whose run just ended. With
    ``all``, every edge must hold and the fired run gets every upstream run; with ``any``,
    the fired run gets the upstream runs whose edges hold. Either way the edge of
    ``finished`` must hold (a finish that meets no condition fires nothing).
    """
    meeting = [
        latest[e.upstream]
        for e in edges
        if e.upstream in latest and holds(e.on, latest[e.upstream].status)
    ]
    if not edges or not any(run.job_id == finished for run in meeting):
        return None
    if rule == "all" and len(meeting) < len(edges):
        return None
    return tuple(meeting)
