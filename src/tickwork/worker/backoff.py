"""Capped, jittered backoff for the worker's loops while the coordinator is unreachable."""

from __future__ import annotations

from tickwork.client.http import RetryPolicy

__all__ = ["Backoff"]


class Backoff:
    """Successive delays 0.2 s, 0.4 s … up to ``cap``; ``reset()`` after a success."""

    def __init__(self, base: float = 0.2, cap: float = 5.0) -> None:
        self._policy = RetryPolicy(base_delay=base, max_delay=cap)
        self._failures = 0

    def next(self) -> float:
        delay = self._policy.delay(self._failures)
        self._failures += 1
        return delay

    def reset(self) -> None:
        self._failures = 0
