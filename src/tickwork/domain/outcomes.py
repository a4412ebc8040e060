"""What happens to a run when one of its attempts ends."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from tickwork.domain.retry import RetryPolicy
from tickwork.domain.runs import is_retryable_outcome


@dataclass(frozen=True, slots=True)
class Decision:
    status: str  # the run's next status
    not_before: datetime | None = None
    dead_letter: bool = False


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
    if is_retryable_outcome(outcome) and attempt < max_attempts:
        delay = policy.delay_after(attempt, rand)
        return Decision("queued", not_before=now + timedelta(seconds=delay))
    return Decision("failed", dead_letter=True)
