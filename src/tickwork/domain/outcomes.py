"""What happens to a run when one of its attempts ends."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from tickwork.domain.retry import RetryPolicy
from tickwork.domain.runs import Completion, is_retryable_outcome


@dataclass(frozen=True, slots=True)
class Decision:
    status: str  # the run's next status
    not_before: datetime | None = None
    dead_letter: bool = False
    note: str | None = None
    """Why the run ends although attempts remain (said in its error)."""


NOT_REPORTED = {"lost": "lost", "timed_out": "timed out"}
"""Outcomes the job's code did not report itself: at most once, they are never retried."""


def decide(
    outcome: str,
    *,
    attempt: int,
    max_attempts: int,
    policy: RetryPolicy,
    now: datetime,
    rand: Callable[[], float] = random.random,
) -> Decision:
    """Completed → completed; cancelled → cancelled; otherwise retry while attempts remain."""
    if outcome == "completed":
        return Decision("completed")
    if outcome == "cancelled":
        return Decision("cancelled")
    if policy.at_most_once and outcome in NOT_REPORTED:
        note = f"{NOT_REPORTED[outcome]}; not retried: at-most-once"
        return Decision("failed", dead_letter=True, note=note)
    if is_retryable_outcome(outcome) and attempt < max_attempts:
        delay = policy.delay_after(attempt, rand)
        return Decision("queued", not_before=now + timedelta(seconds=delay))
    return Decision("failed", dead_letter=True)


@dataclass(frozen=True, slots=True)
class AttemptState:
    """A running run as the completion of its attempt finds it."""

    run_id: str
    job_id: str
    fence: int
    attempt: int  # attempts started so far, this one included once its start was confirmed
    max_attempts: int
    started_at: datetime | None  # None: the start is confirmed by this completion
    claimed_at: datetime | None
    worker_id: str | None
    cancel_requested: bool


@dataclass(frozen=True, slots=True)
class Settlement:
    """How an attempt ends and what becomes of its run."""

    outcome: str  # the attempt's outcome (a failure after a cancel request counts as cancelled)
    decision: Decision
    attempt: int  # this attempt's number
    started_at: datetime
    finished_at: datetime

    @property
    def duration(self) -> float:
        return (self.finished_at - self.started_at).total_seconds()

    def error(self, reported: str | None) -> str | None:
        """The run's error: what the worker reported, after the decision's note if any."""
        note = self.decision.note
        if note is None:
            return reported
        return f"{note} ({reported})" if reported else note

    @property
    def recorded_apart(self) -> bool:
        """Whether the attempt gets a row of its own in the attempts history.

        A completed attempt that is its run's last is told by the run itself; any other
        (failed, timed out, lost, cancelled) keeps its own record, since a retry or replay
        moves the run on to a new attempt."""
        return self.outcome != "completed"


def settle(
    c: Completion,
    state: AttemptState,
    policy: RetryPolicy,
    *,
    now: datetime,
    rand: Callable[[], float] = random.random,
) -> Settlement:
    """The end of the attempt ``c`` reports. A start confirmed only now counts the attempt
    and dates it back by the time the worker says it ran (never before the claim)."""
    if state.started_at is not None:
        started, attempt = state.started_at, state.attempt
    else:
        started, attempt = _start_of(c, state, now), state.attempt + 1
    outcome = "cancelled" if state.cancel_requested and c.outcome != "completed" else c.outcome
    decision = decide(
        outcome,
        attempt=attempt,
        max_attempts=state.max_attempts,
        policy=policy,
        now=now,
        rand=rand,
    )
    return Settlement(outcome, decision, attempt, started, now)


def _start_of(c: Completion, state: AttemptState, now: datetime) -> datetime:
    if c.elapsed is None:
        return state.claimed_at or now
    started = now - timedelta(seconds=c.elapsed)
    return max(started, state.claimed_at) if state.claimed_at else started
