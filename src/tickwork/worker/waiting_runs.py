"""Claimed runs waiting to start, kept apart by the slot each needs.

A run needing a process (a sync python function, a shell command) waits while every process
slot is busy; a run on an async child's loop or on the worker's own loop (http) does not wait
behind it. A python run whose function was not seen before waits (``slot`` None) until an async
child said whether it is an ``async def``. Runs start oldest claim first among those that can.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator

from tickwork.worker.executors.base import Slot
from tickwork.worker.runs import HeldRun

__all__ = ["WaitingRuns"]

_SLOTS: tuple[Slot | None, ...] = ("loop", "async", "process", None)


class WaitingRuns:
    def __init__(self) -> None:
        self._queues: dict[Slot | None, deque[HeldRun]] = {slot: deque() for slot in _SLOTS}

    def __len__(self) -> int:
        return sum(len(queue) for queue in self._queues.values())

    def __bool__(self) -> bool:
        return any(self._queues.values())

    def __iter__(self) -> Iterator[HeldRun]:
        for queue in self._queues.values():
            yield from queue

    def waiting_for(self, slot: Slot | None) -> int:
        return len(self._queues[slot])

    def append(self, held: HeldRun) -> None:
        self._queues[held.slot].append(held)

    def remove(self, held: HeldRun) -> None:
        self._queues[held.slot].remove(held)

    def place(self, held: HeldRun, slot: Slot) -> bool:
        """A waiting run's slot is known now; False if it is not waiting any more."""
        if held not in self._queues[held.slot]:
            return False
        self.remove(held)
        held.slot = slot
        self.append(held)
        return True

    def next(self, *, process_free: bool) -> HeldRun | None:
        """The run to start now (taken off), the oldest claim among those that can start."""
        heads = [
            queue
            for slot, queue in self._queues.items()
            if queue and slot is not None and (slot != "process" or process_free)
        ]
        if not heads:
            return None
        return min(heads, key=lambda queue: queue[0].claimed).popleft()
