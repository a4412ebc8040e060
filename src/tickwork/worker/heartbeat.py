"""Heartbeats (long-polled, so cancels arrive in milliseconds) and the lease watchdog.

Each heartbeat carries the runs the worker holds; the coordinator extends their leases and
answers which to cancel and which are no longer this worker's. The request is held open for up
to ``poll_wait`` seconds and answered early when a cancel arrives. If no heartbeat has got
through for ``lease - margin`` seconds, the watchdog kills every run the worker holds: their
leases are about to pass to another worker.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Protocol

from tickwork.client.errors import ClientError, NotRegisteredError
from tickwork.client.worker_protocol import WorkerProtocolClient
from tickwork.schemas.workers import HeartbeatIn, HeartbeatOut, RunFence
from tickwork.worker.backoff import Backoff

__all__ = ["Heartbeat", "HeartbeatHandler"]

log = logging.getLogger(__name__)

MAX_WAIT = 60.0
"""The protocol's longest heartbeat long-poll."""

CANCEL_REPOLL = 1.0
"""Pause before the next heartbeat when the last one returned early only for cancels already
being carried out (the coordinator keeps listing a run until its completion arrives)."""


class HeartbeatHandler(Protocol):
    @property
    def worker_id(self) -> str: ...

    def held_runs(self) -> list[RunFence]: ...

    async def on_cancel(self, run_ids: list[str]) -> None: ...

    async def on_stale(self, run_id: str, fence: int) -> None: ...

    async def on_forgotten(self, worker_id: str) -> None: ...

    async def on_lease_lost(self) -> None: ...


class Heartbeat:
    def __init__(
        self,
        client: WorkerProtocolClient,
        handler: HeartbeatHandler,
        *,
        interval: float = 30.0,
        lease: float = 90.0,
    ) -> None:
        self.interval = interval
        self.lease = lease
        self.beats = 0
        self.last_ok = time.monotonic()
        self._client = client
        self._handler = handler
        self._cancelling: set[str] = set()
        self._recovered = asyncio.Event()
        self._backoff = Backoff(cap=2.0)

    @property
    def margin(self) -> float:
        return min(10.0, self.lease / 3)

    @property
    def period(self) -> float:
        """Seconds between heartbeats: the interval, but at most half of ``lease - margin``."""
        return max(0.0, min(self.interval, (self.lease - self.margin) / 2))

    @property
    def poll_wait(self) -> float:
        """How long the coordinator may hold a heartbeat open."""
        return min(self.period, MAX_WAIT)

    def reset(self) -> None:
        """A fresh registration counts as contact."""
        self.last_ok = time.monotonic()
        self._recovered.set()

    async def run(self) -> None:
        while True:
            await self.beat_once()

    async def beat_once(self) -> None:
        """One heartbeat, then the pause before the next one."""
        sent = time.monotonic()
        worker_id = self._handler.worker_id
        runs = self._handler.held_runs()[:1000]
        try:
            out = await self._client.heartbeat(
                worker_id, HeartbeatIn(runs=runs, wait=self.poll_wait)
            )
        except NotRegisteredError:
            await self._handler.on_forgotten(worker_id)
            return
        except ClientError as exc:
            log.warning("heartbeat failed: %s", exc)
            await asyncio.sleep(self._backoff.next())
            return
        self._succeeded(sent, out)
        news = await self._apply(out, {r.run_id: r.fence for r in runs})
        await asyncio.sleep(self._pause(out, time.monotonic() - sent, news))

    async def watch(self) -> None:
        """Kill every held run once heartbeats have failed for ``lease - margin`` seconds."""
        while True:
            left = self.last_ok + self.lease - self.margin - time.monotonic()
            if left > 0:
                await asyncio.sleep(left)
                continue
            self._recovered.clear()
            log.error(
                "no heartbeat got through for %.0fs: killing held runs before their leases pass",
                time.monotonic() - self.last_ok,
            )
            await self._handler.on_lease_lost()
            await self._recovered.wait()

    def _succeeded(self, sent: float, out: HeartbeatOut) -> None:
        self.beats += 1
        self.last_ok = max(self.last_ok, sent)
        self.lease = out.lease_seconds or self.lease
        self._backoff.reset()
        self._recovered.set()

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
        left = max(0.0, self.period - elapsed)
        return min(left, CANCEL_REPOLL) if out.cancel else left
