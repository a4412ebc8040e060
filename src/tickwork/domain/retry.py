"""Retry policy: when the next attempt of a failed run may start."""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

Backoff = Literal["exponential", "fixed"]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    retries: int = 3
    delay: float = 1.0
    backoff: Backoff = "exponential"
    max_delay: float = 300.0
    jitter: float = 0.1  # fraction of the delay, spread evenly either side
    at_most_once: bool = False
    """Delivery ``at_most_once``: an attempt that may have run is retried only when the code
    itself reported the failure (``failed``); a lost or timed-out one ends the run."""

    @classmethod
    def of(cls, spec: Mapping[str, Any]) -> RetryPolicy:
        """The policy of a job's stored spec (these defaults where a field is missing)."""
        d = _DEFAULTS
        return cls(
            retries=int(spec.get("retries", d.retries)),
            delay=float(spec.get("retry_delay", d.delay)),
            backoff=spec.get("backoff", d.backoff),
            max_delay=float(spec.get("max_retry_delay", d.max_delay)),
            at_most_once=spec.get("delivery") == "at_most_once",
        )

    @property
    def max_attempts(self) -> int:
        return self.retries + 1

    def can_retry(self, attempts_made: int) -> bool:
        return attempts_made < self.max_attempts

    def delay_after(self, attempt: int, rand: Callable[[], float] = random.random) -> float:
        """Seconds to wait after failed attempt ``attempt`` (1-based): 1, 2, 4, 8 … capped."""
        base = self.delay
        if self.backoff == "exponential":
            base = self.delay * (2 ** max(attempt - 1, 0))
        base = min(base, self.max_delay)
        spread = base * self.jitter
        return max(0.0, base - spread + 2 * spread * rand())


_DEFAULTS = RetryPolicy()
