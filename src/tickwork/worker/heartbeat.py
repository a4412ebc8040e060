"""Heartbeats (long-polled, so cancels arrive in milliseconds) and the lease watchdog.

Each heartbeat carries the runs the worker holds; the coordinator extends their leases and
answers which to cancel and which are no longer this worker's. The request is held open and
answered early when a cancel arrives. The timing comes from ``domain.leases``: the watchdog
counts from the *send* of the last heartbeat that was answered (the earliest moment the
coordinator can have extended the leases), each heartbeat asks to be held only as long as its
answer can still arrive before the watchdog's deadline, and when the deadline passes every held
run is killed, SIGKILLed before the coordinator can give it to another worker.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

from tickwork.client.errors import ClientError, NotRegisteredError
from tickwork.client.worker_protocol import WorkerProtocolClient
from tickwork.domain.leases import LeaseSettingsError, LeaseTiming, lease_timing
from tickwork.schemas.workers import HeartbeatIn, HeartbeatOut, RunFence
from tickwork.worker.backoff import Backoff

__all__ = ["Heartbeat", "HeartbeatHandler"]

log = logging.getLogger(__name__)

CANCEL_REPOLL = 1.0
"""Pause before the next heartbeat when the last one returned early only for cancels already
being carried out (the coordinator keeps listing a run until its completion arrives)."""

Sleep = Callable[[float], Awaitable[None]]

MAX_RUNS = 1000
"""Runs named in one heartbeat request (the protocol's limit); a worker holding more sends
several requests per heartbeat."""


class HeartbeatHandler(Protocol):
    @property
    def worker_id(self) -> str: ...

    def held_runs(self) -> list[RunFence]: ...

    async def on_cancel(self, run_ids: list[str]) -> None: ...

    async def on_stale(self, run_id: str, fence: int) -> None: ...

    async def on_forgotten(self, worker_id: str) -> None: ...

    async def on_lease_lost(self, grace: float) -> None: ...


class Heartbeat:
    """``run()`` sends heartbeats; ``watch()`` is the watchdog. ``clock`` (monotonic seconds)
    and ``sleep`` are injectable so that tests can drive time."""

    def __init__(
        self,
        client: WorkerProtocolClient,
        handler: HeartbeatHandler,
        *,
        timing: LeaseTiming | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.timing = timing or lease_timing(lease=90.0)
        self.beats = 0
        self._clock = clock
        self._sleep = sleep
        self.last_ok = clock()
        """When the last answered heartbeat (or the registration) was sent."""
        self._client = client
        self._handler = handler
        self._cancelling: set[str] = set()
        self._recovered = asyncio.Event()
        self._backoff = Backoff(cap=2.0)

    @property
    def lease(self) -> float:
        """How long the coordinator keeps this worker's runs without a heartbeat."""
        return self.timing.hold

    @property
    def deadline(self) -> float:
        """When (``clock`` time) the watchdog kills the held runs unless a heartbeat gets
        through first."""
        return self.last_ok + self.timing.deadline

    def reset(self, sent: float | None = None) -> None:
        """A registration sent at ``sent`` (default: now) counts as contact."""
        self.last_ok = self._clock() if sent is None else sent
        self._recovered.set()

    async def run(self) -> None:
        while True:
            await self.beat_once()

    async def beat_once(self) -> None:
        """One heartbeat, then the pause before the next one."""
        sent = self._clock()
        wait = self.timing.wait_for(sent - self.last_ok)
        worker_id = self._handler.worker_id
        runs = self._handler.held_runs()
        try:
            out = await self._send(worker_id, runs, wait)
        except NotRegisteredError:
            await self._handler.on_forgotten(worker_id)
            return
        except ClientError as exc:
            log.warning("heartbeat failed: %s", exc)
            await self._sleep(min(self._backoff.next(), self.timing.interval))
            return
        self._succeeded(sent, out)
        news = await self._apply(out, {r.run_id: r.fence for r in runs})
        await self._sleep(self._pause(out, self._clock() - sent, news))

    async def _send(self, worker_id: str, runs: list[RunFence], wait: float) -> HeartbeatOut:
        """One heartbeat for all held runs: ``MAX_RUNS`` a request, the last one long-polled;
        the answers merged."""
        parts = [runs[i : i + MAX_RUNS] for i in range(0, len(runs), MAX_RUNS)] or [[]]
        outs = [
            await self._client.heartbeat(worker_id, HeartbeatIn(runs=part, wait=0))
            for part in parts[:-1]
        ]
        outs.append(await self._client.heartbeat(worker_id, HeartbeatIn(runs=parts[-1], wait=wait)))
        if len(outs) == 1:
            return outs[0]
        return HeartbeatOut(
            cancel=list(dict.fromkeys(r for out in outs for r in out.cancel)),
            stale=[r for out in outs for r in out.stale],
            lease_seconds=outs[-1].lease_seconds,
        )

    async def watch(self) -> None:
        """Kill every held run once no heartbeat has got through by the deadline."""
        while True:
            left = self.deadline - self._clock()
            if left > 0:
                await self._sleep(left)
                continue
            self._recovered.clear()
            log.error(
                "no heartbeat got through for %.1fs: killing held runs before their leases pass",
                self._clock() - self.last_ok,
            )
            await self._handler.on_lease_lost(self.timing.fence_grace)
            await self._recovered.wait()

    def _succeeded(self, sent: float, out: HeartbeatOut) -> None:
        self.beats += 1
        self.last_ok = max(self.last_ok, sent)
        if out.lease_seconds and out.lease_seconds != self.timing.hold:
            self._refit(out.lease_seconds)
        self._backoff.reset()
        self._recovered.set()

    def _refit(self, hold: float) -> None:
        """The coordinator now keeps runs ``hold`` seconds (another coordinator, new settings)."""
        try:
            timing = self.timing.fitted(hold)
        except LeaseSettingsError as exc:
            log.error("the coordinator's lease of %gs cannot be kept: %s", hold, exc)
            return
        if timing.interval != self.timing.interval:
            log.warning(
                "heartbeat interval %gs → %gs for a %gs lease",
                self.timing.interval,
                timing.interval,
                hold,
            )
        self.timing = timing

    async def _apply(self, out: HeartbeatOut, sent: dict[str, int]) -> bool:
        """Carry out cancels and stale runs; True if the answer held anything new."""
        fresh = [run_id for run_id in out.cancel if run_id not in self._cancelling]
        self._cancelling = set(out.cancel)
        if out.cancel:
            await self._handler.on_cancel(list(out.cancel))
        for run_id in out.stale:
            if run_id in sent:  # the answer names runs only; kill the attempt we asked about
                await self._handler.on_stale(run_id, sent[run_id])
        return bool(fresh or out.stale)

    def _pause(self, out: HeartbeatOut, elapsed: float, news: bool) -> float:
        if news:
            return 0.0
        left = max(0.0, self.timing.period - elapsed)
        return min(left, CANCEL_REPOLL) if out.cancel else left
