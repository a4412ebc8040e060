"""The ack window on virtual time: a run executes on claim, its start must be confirmed in
time or it stops itself before the coordinator may hand its claim to another worker; a
prefetched run that waits too long for a slot is handed back."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import pytest
from test_heartbeat import VirtualTime

from tickwork.domain.leases import AckWindow, ack_window, lease_timing
from tickwork.worker.acks import AckWatch

TIMING = lease_timing(lease=90)
WINDOW = ack_window(30, TIMING)  # confirm by 20 s, send by 10 s, SIGKILL 8 s later


@dataclass
class Handler:
    time: VirtualTime
    handed_back: list[tuple[float, str]] = field(default_factory=list)
    stopped: list[tuple[float, str, float]] = field(default_factory=list)

    def hand_back(self, run_id: str, fence: int) -> None:
        self.handed_back.append((self.time.now, run_id))

    async def on_unconfirmed(self, run_id: str, fence: int, grace: float) -> None:
        self.stopped.append((self.time.now, run_id, grace))


@asynccontextmanager
async def watching(
    window: AckWindow = WINDOW,
) -> AsyncIterator[tuple[VirtualTime, Handler, AckWatch]]:
    time = VirtualTime()
    handler = Handler(time)
    watch = AckWatch(handler, window, clock=time.clock, sleep=time.sleep)
    task = asyncio.create_task(watch.watch())
    try:
        yield time, handler, watch
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_a_start_confirmed_in_time_closes_the_window() -> None:
    async with watching() as (time, handler, watch):
        watch.expect("r1", 1, claimed=0.0)
        watch.starting("r1", 1)
        await time.run_until(19.9)
        watch.confirmed("r1", 1)
        await time.run_until(600)
        assert handler.stopped == [] and handler.handed_back == []
        assert len(watch) == 0


async def test_an_unanswered_start_stops_the_run_before_its_claim_can_pass() -> None:
    async with watching() as (time, handler, watch):
        await time.run_until(5.0)
        watch.expect("r1", 1, claimed=5.0)  # the claim was sent at 5 s
        watch.starting("r1", 1)
        await time.run_until(24.9)
        assert handler.stopped == []
        await time.run_until(25.0)
        [(when, run_id, grace)] = handler.stopped
        assert (when, run_id) == (25.0, "r1")
        # SIGKILL at the latest ``grace`` later, an allowance before the coordinator (whose
        # clock started the ack timeout no earlier than the send) may reclaim it
        assert when + grace + TIMING.allowance <= 5.0 + 30
        assert not watch.pending("r1", 1)


async def test_each_claim_counts_from_its_own_send() -> None:
    async with watching() as (time, handler, watch):
        watch.expect("early", 1, claimed=0.0)
        watch.starting("early", 1)
        await time.run_until(3.0)
        watch.expect("late", 1, claimed=3.0)
        watch.starting("late", 1)
        await time.run_until(30.0)
        assert [(w, r) for w, r, _ in handler.stopped] == [(20.0, "early"), (23.0, "late")]


async def test_a_prefetched_run_still_waiting_at_send_by_is_handed_back() -> None:
    async with watching() as (time, handler, watch):
        watch.expect("waits", 1, claimed=0.0)
        watch.expect("got-a-slot", 1, claimed=0.0)
        await time.run_until(9.0)
        watch.starting("got-a-slot", 1)  # a slot freed in time: it runs, start on its way
        await time.run_until(10.0)
        assert handler.handed_back == [(10.0, "waits")]
        assert not watch.pending("waits", 1)
        watch.confirmed("got-a-slot", 1)
        await time.run_until(600)
        assert handler.stopped == []


async def test_a_forgotten_attempt_is_left_alone() -> None:
    async with watching() as (time, handler, watch):
        watch.expect("r1", 1, claimed=0.0)
        watch.forget("r1", 1)
        await time.run_until(600)
        assert handler.stopped == [] and handler.handed_back == []


@pytest.mark.parametrize(("lease", "ack"), [(90, 30), (30, 4), (3, 2)])
async def test_the_window_fits_every_valid_setting(lease: float, ack: float) -> None:
    timing = lease_timing(lease=lease)
    window = ack_window(ack, timing)
    async with watching(window) as (time, handler, watch):
        watch.expect("r1", 1, claimed=1.0)
        watch.starting("r1", 1)
        await time.run_until(1.0 + ack)
        [(when, _, grace)] = handler.stopped
        assert when == pytest.approx(1.0 + window.confirm_by)
        assert when + grace + timing.allowance <= 1.0 + ack + 1e-9
