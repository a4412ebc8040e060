"""The heartbeat loop and the lease watchdog on virtual time: nothing here sleeps for real.

A fake coordinator records when it extended the leases (that is what the worker's watchdog must
stay ahead of) and holds each heartbeat open for the wait the worker asked for, plus network
delays the test chooses.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

import pytest

from tickwork.client.errors import ApiError
from tickwork.domain.leases import LeaseSettingsError, LeaseTiming, lease_timing
from tickwork.schemas.workers import HeartbeatIn, HeartbeatOut, RunFence
from tickwork.worker.heartbeat import Heartbeat
from tickwork.worker.runtime import heartbeat_timing


class VirtualTime:
    """A monotonic clock and a sleep that only move when the test advances time."""

    def __init__(self) -> None:
        self.now = 0.0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.now + max(0.0, seconds), next(self._seq), future))
        await future

    async def run_until(self, end: float) -> None:
        """Wake every sleeper due up to ``end`` in order, letting the loop settle after each."""
        await _settle()
        while self._sleepers and self._sleepers[0][0] <= end:
            when, _, future = heapq.heappop(self._sleepers)
            self.now = max(self.now, when)
            if not future.done():
                future.set_result(None)
            await _settle()
        self.now = end


async def _settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


@dataclass
class Coordinator:
    """Answers heartbeats after ``delay(now)`` each way; records each lease extension."""

    time: VirtualTime
    delay: Callable[[float], float] = lambda _now: 0.01
    broken: Callable[[float], str | None] = lambda _now: None  # "hang", "503" or None
    extended: list[float] = field(default_factory=list)
    waits: list[tuple[float, float, float]] = field(default_factory=list)  # sent, wait, last_ok
    last_ok: Callable[[], float] = lambda: 0.0  # the worker's, for the record

    async def heartbeat(self, worker_id: str, body: HeartbeatIn) -> HeartbeatOut:
        sent = self.time.now
        self.waits.append((sent, body.wait, self.last_ok()))
        await self.time.sleep(self.delay(sent))
        broken = self.broken(self.time.now)
        if broken == "hang":  # a partition: the request never arrives, nothing answers
            await asyncio.get_running_loop().create_future()
        if broken == "503":
            raise ApiError(503, "unavailable", "database restarting", None)
        self.extended.append(self.time.now)
        await self.time.sleep(body.wait)
        await self.time.sleep(self.delay(self.time.now))
        return HeartbeatOut(cancel=[], stale=[], lease_seconds=0)


@dataclass
class Handler:
    time: VirtualTime
    worker_id: str = "worker-1"
    lost: list[tuple[float, float]] = field(default_factory=list)  # (when, fence grace)

    def held_runs(self) -> list[RunFence]:
        return [RunFence(run_id="run-1", fence=1)]

    async def on_cancel(self, run_ids: list[str]) -> None:
        raise AssertionError("no cancel expected")

    async def on_stale(self, run_id: str, fence: int) -> None:
        raise AssertionError("no stale run expected")

    async def on_forgotten(self, worker_id: str) -> None:
        raise AssertionError("the worker is not forgotten")

    async def on_lease_lost(self, grace: float) -> None:
        self.lost.append((self.time.now, grace))


async def drive(
    timing: LeaseTiming, until: float, **coordinator: Any
) -> tuple[Coordinator, Handler, Heartbeat]:
    time = VirtualTime()
    coord = Coordinator(time, **coordinator)
    handler = Handler(time)
    beat = Heartbeat(cast(Any, coord), handler, timing=timing, clock=time.clock, sleep=time.sleep)
    coord.last_ok = lambda: beat.last_ok
    beat.reset(0.0)  # registered at 0: the coordinator recorded contact then
    coord.extended.append(0.0)
    tasks = [asyncio.create_task(beat.run()), asyncio.create_task(beat.watch())]
    try:
        await time.run_until(until)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return coord, handler, beat


def assert_fenced_in_time(coord: Coordinator, handler: Handler, timing: LeaseTiming) -> float:
    """The watchdog fired, and the runs were SIGKILLed before the coordinator could give them
    to another worker (hold after its last extension), with the allowance to spare."""
    assert handler.lost, "the watchdog never fired"
    fired, grace = handler.lost[0]
    last = max(e for e in coord.extended if e <= fired)
    assert grace == pytest.approx(timing.fence_grace)
    assert fired + grace + timing.allowance <= last + timing.hold + 1e-9
    return fired


@pytest.mark.parametrize(
    "timing",
    [
        lease_timing(lease=30),  # the reported case: lease 30, the default heartbeat
        lease_timing(lease=90),
        lease_timing(lease=4, lost_after=3, interval=0.5),
        lease_timing(lease=6, interval=1.4),  # the longest interval lease 6 allows
    ],
    ids=["lease30", "lease90", "fast", "lease6-longest"],
)
async def test_a_healthy_worker_never_trips_its_watchdog(timing: LeaseTiming) -> None:
    # every round trip nearly as slow as the allowance permits
    coord, handler, beat = await drive(
        timing, until=20 * timing.hold, delay=lambda _now: 0.45 * timing.allowance
    )
    assert handler.lost == []
    assert beat.beats > 10
    gaps = [b - a for a, b in itertools.pairwise(coord.extended)]
    assert max(gaps) <= timing.deadline  # the coordinator heard from it well within the hold


async def test_random_network_delays_within_the_allowance_never_trip_it() -> None:
    timing = lease_timing(lease=30)
    rng = random.Random(8)
    coord, handler, _ = await drive(
        timing, until=3000, delay=lambda _now: rng.uniform(0, 0.45 * timing.allowance)
    )
    assert handler.lost == []
    assert len(coord.extended) > 300


async def test_one_failed_heartbeat_is_survived() -> None:
    timing = lease_timing(lease=30)
    _, handler, _ = await drive(
        timing,
        until=120,
        delay=lambda _now: 0.45 * timing.allowance,
        broken=lambda now: "503" if 40 <= now < 40.5 else None,
    )
    assert handler.lost == []


async def test_each_heartbeat_asks_for_no_longer_than_its_answer_can_still_beat_the_deadline() -> (
    None
):
    timing = lease_timing(lease=30)
    coord, _, _ = await drive(
        timing,
        until=200,
        delay=lambda _now: 0.45 * timing.allowance,
        broken=lambda now: "503" if 50 <= now < 62 else None,  # a 12 s outage
    )
    assert len(coord.waits) > 20
    for sent, wait, last_ok in coord.waits:
        assert wait <= timing.poll_wait
        assert wait == 0 or sent + wait + timing.allowance <= last_ok + timing.deadline + 1e-9
    assert any(0 < wait < timing.poll_wait for _, wait, _ in coord.waits)  # some were cut short


@pytest.mark.parametrize(
    "timing",
    [
        lease_timing(lease=30),
        lease_timing(lease=90),
        lease_timing(lease=4, lost_after=3, interval=0.5),
    ],
    ids=["lease30", "lease90", "fast"],
)
@pytest.mark.parametrize("fault", ["hang", "503"])
async def test_a_cut_off_worker_kills_its_runs_before_the_coordinator_may_reassign_them(
    timing: LeaseTiming, fault: str
) -> None:
    cut = 5 * timing.interval + 0.3
    coord, handler, _ = await drive(
        timing,
        until=cut + 2 * timing.hold,
        delay=lambda _now: 0.2 * timing.allowance,
        broken=lambda now: fault if now >= cut else None,
    )
    fired = assert_fenced_in_time(coord, handler, timing)
    assert fired >= cut  # not while it was still in contact
    assert len(handler.lost) == 1  # once, until contact comes back


async def test_the_watchdog_fires_a_deadline_after_the_last_answered_send() -> None:
    # Requests arrive instantly, so each extension happens at its send: the watchdog fires
    # exactly a deadline after the last one, no earlier (the long-poll answer came much later).
    timing = lease_timing(lease=30)
    coord, handler, _ = await drive(
        timing,
        until=100,
        delay=lambda _now: 0.0,
        broken=lambda now: "hang" if now >= 16 else None,
    )
    fired = assert_fenced_in_time(coord, handler, timing)
    assert fired == pytest.approx(max(e for e in coord.extended if e < 16) + timing.deadline)


async def test_after_firing_it_waits_for_contact_then_watches_again() -> None:
    timing = lease_timing(lease=30)
    coord, handler, beat = await drive(
        timing,
        until=200,
        delay=lambda _now: 0.1,
        broken=lambda now: "503" if 20 <= now < 60 else None,
    )
    assert len(handler.lost) == 1  # fired once during the outage, not again after it
    assert 20 <= handler.lost[0][0] < 60
    assert max(coord.extended) > 190 and beat.beats > 10


async def test_a_heartbeat_error_other_than_the_network_is_retried_quickly() -> None:
    timing = lease_timing(lease=30)
    failures = iter([True, True, True])
    coord, handler, _ = await drive(
        timing,
        until=60,
        broken=lambda _now: "503" if next(failures, False) else None,
    )
    assert handler.lost == []
    assert coord.extended[1] < 3  # three quick retries, then contact


def test_the_worker_takes_the_coordinators_interval_shortened_if_the_lease_needs_it() -> None:
    assert heartbeat_timing(90, 30, None).interval == 30
    assert heartbeat_timing(30, 30, None).interval == 8  # an older coordinator's answer


def test_the_workers_own_interval_is_kept_or_refused() -> None:
    assert heartbeat_timing(30, 8, 2).interval == 2
    with pytest.raises(LeaseSettingsError, match=r"--heartbeat-interval 9 .* at most 8s"):
        heartbeat_timing(30, 8, 9)


class ManyRuns:
    """A handler holding 2,500 runs, and a client that answers each request for its runs."""

    worker_id = "worker-1"

    def __init__(self) -> None:
        self.runs = [RunFence(run_id=f"run-{i}", fence=1) for i in range(2500)]
        self.bodies: list[HeartbeatIn] = []
        self.cancelled: list[str] = []
        self.stale: list[tuple[str, int]] = []

    def held_runs(self) -> list[RunFence]:
        return self.runs

    async def heartbeat(self, worker_id: str, body: HeartbeatIn) -> HeartbeatOut:
        self.bodies.append(body)
        named = {r.run_id for r in body.runs}
        return HeartbeatOut(
            cancel=[r for r in ("run-5", "run-2400") if r in named],
            stale=[r for r in ("run-1500",) if r in named],
            lease_seconds=0,
        )

    async def on_cancel(self, run_ids: list[str]) -> None:
        self.cancelled += run_ids

    async def on_stale(self, run_id: str, fence: int) -> None:
        self.stale.append((run_id, fence))

    async def on_forgotten(self, worker_id: str) -> None:
        raise AssertionError("the worker is not forgotten")

    async def on_lease_lost(self, grace: float) -> None:
        raise AssertionError("no lease lost")


async def test_a_heartbeat_names_every_held_run_a_thousand_a_request():
    time = VirtualTime()
    many = ManyRuns()
    beat = Heartbeat(
        cast(Any, many), many, timing=lease_timing(lease=30), clock=time.clock, sleep=time.sleep
    )
    task = asyncio.create_task(beat.beat_once())
    await time.run_until(0.0)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)

    assert [len(b.runs) for b in many.bodies] == [1000, 1000, 500]
    assert {r.run_id for b in many.bodies for r in b.runs} == {r.run_id for r in many.runs}
    assert [b.wait for b in many.bodies[:-1]] == [0, 0]  # only the last one is long-polled
    assert many.bodies[-1].wait > 0
    assert sorted(many.cancelled) == ["run-2400", "run-5"]
    assert many.stale == [("run-1500", 1)]
    assert beat.beats == 1
