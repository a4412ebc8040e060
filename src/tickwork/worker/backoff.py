"""Capped, jittered backoff for the worker's loops while the coordinator is unreachable."""

from __future__ import annotations

from tickwork.client.errors import ApiError
from tickwork.client.http import RetryPolicy

__all__ = ["Backoff"]


class Backoff:
    """Successive delays 0.2 s, 0.4 s … up to ``cap``; ``reset()`` after a success."""

    def __init__(self, base: float = 0.2, cap: float = 5.0) -> None:
        self._policy = RetryPolicy(base_delay=base, max_delay=cap)
        self._failures = 0

    def next(self, at_least: float | None = None) -> float:
        """The next delay; at least ``at_least`` (plus jitter) when the server said when."""
        delay = self._policy.delay(self._failures, at_least)
        self._failures += 1
        return delay

    def after(self, exc: BaseException) -> float:
        """The next delay after ``exc``, honouring a 503's or 429's ``Retry-After``."""
        return self.next(exc.retry_after if isinstance(exc, ApiError) else None)

    def reset(self) -> None:
        self._failures = 0
