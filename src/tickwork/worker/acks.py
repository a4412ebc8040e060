"""The ack window: runs execute as soon as they are claimed, and their starts must be confirmed
in time or they are stopped before the coordinator can hand the claim to another worker.

Each claimed attempt is tracked from the *send* of its claim (``domain.leases.AckWindow``):
one still waiting for a slot (prefetched) at ``send_by`` is handed back to the queue; one whose
start is not answered by ``confirm_by`` is stopped (self-fenced). The clock and the sleep are
injectable so that tests can drive time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from tickwork.domain.leases import AckWindow

__all__ = ["AckHandler", "AckWatch"]

Key = tuple[str, int]  # run id, fence
Sleep = Callable[[float], Awaitable[None]]


class AckHandler(Protocol):
    def hand_back(self, run_id: str, fence: int) -> None:
        """A run still waiting for a slot at ``send_by``: give its claim back (it would not
        be confirmed in time)."""

    async def on_unconfirmed(self, run_id: str, fence: int, grace: float) -> None:
        """The start was not confirmed in time: stop the run within ``grace`` seconds."""


@dataclass(slots=True)
class _Claim:
    claimed: float
    sent: bool = False


class AckWatch:
    """``expect`` each claimed attempt, then ``starting``, ``confirmed`` or ``forget`` as it
    goes; ``watch()`` is the loop that acts on the deadlines."""

    def __init__(
        self,
        handler: AckHandler,
        window: AckWindow,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.window = window
        self._handler = handler
        self._clock = clock
        self._sleep = sleep
        self._claims: dict[Key, _Claim] = {}
        self._added = asyncio.Event()

    def __len__(self) -> int:
        return len(self._claims)

    def expect(self, run_id: str, fence: int, claimed: float) -> None:
        """A claim sent at ``claimed`` (clock time) gave this attempt."""
        self._claims[(run_id, fence)] = _Claim(claimed)
        self._added.set()

    def starting(self, run_id: str, fence: int) -> None:
        """The attempt executes; its start is queued for the next report."""
        claim = self._claims.get((run_id, fence))
        if claim is not None:
            claim.sent = True

    def confirmed(self, run_id: str, fence: int) -> None:
        """The coordinator answered the start (or it is not to be confirmed any more)."""
        self._claims.pop((run_id, fence), None)

    forget = confirmed

    def pending(self, run_id: str, fence: int) -> bool:
        return (run_id, fence) in self._claims

    async def watch(self) -> None:
        while True:
            due = self._next_due()
            if due is None:
                self._added.clear()
                await self._added.wait()
                continue
            left = due - self._clock()
            if left > 0:
                await self._sleep(left)
                continue
            await self.check()

    async def check(self) -> None:
        """Act on every deadline passed by now."""
        now = self._clock()
        w = self.window
        for (run_id, fence), claim in list(self._claims.items()):
            if now >= claim.claimed + w.confirm_by:
                self._claims.pop((run_id, fence), None)
                await self._handler.on_unconfirmed(run_id, fence, w.grace)
            elif not claim.sent and now >= claim.claimed + w.send_by:
                self._claims.pop((run_id, fence), None)
                self._handler.hand_back(run_id, fence)

    def _next_due(self) -> float | None:
        w = self.window
        due = [c.claimed + (w.confirm_by if c.sent else w.send_by) for c in self._claims.values()]
        return min(due, default=None)
