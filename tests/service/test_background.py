"""Background loops stop cleanly: a pass in progress finishes, a stuck one is cut off."""

from __future__ import annotations

import asyncio

from tickwork.coord.base import Subscription
from tickwork.service.background import BackgroundService


class Gated(BackgroundService):
    """Each pass waits for ``gate``; records how passes ended."""

    name = "gated"

    def __init__(self) -> None:
        super().__init__(interval=60)
        self.gate = asyncio.Event()
        self.entered = asyncio.Event()
        self.finished = 0
        self.cancelled = 0

    async def run_once(self) -> bool:
        self.entered.set()
        try:
            await self.gate.wait()
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        self.finished += 1
        return False


async def test_stop_lets_the_pass_in_progress_finish() -> None:
    svc = Gated()
    svc.start()
    await svc.entered.wait()
    stopping = asyncio.create_task(svc.stop(grace=30))
    await asyncio.sleep(0)
    assert not stopping.done()  # waiting for the pass, not cutting it short
    svc.gate.set()
    await stopping
    assert (svc.finished, svc.cancelled) == (1, 0)


async def test_a_pass_that_outlives_the_grace_is_cancelled() -> None:
    svc = Gated()
    svc.start()
    await svc.entered.wait()
    await svc.stop(grace=0.01)
    assert (svc.finished, svc.cancelled) == (0, 1)


async def test_an_idle_loop_stops_at_once_and_can_start_again() -> None:
    svc = Gated()
    svc.gate.set()
    svc.start()
    await svc.entered.wait()
    await asyncio.wait_for(svc.stop(grace=30), 5)  # idle: woken, not waited out
    assert svc.finished == 1
    svc.entered.clear()
    svc.start()
    await svc.entered.wait()
    await svc.stop()
    assert svc.finished == 2


async def test_a_subscription_wait_is_cancelled_even_as_a_message_arrives() -> None:
    """The wait must not swallow a cancellation that races with a delivery."""
    sub = Subscription("topic")
    for _ in range(200):
        waiting = asyncio.create_task(sub.wait(30))
        await asyncio.sleep(0)
        sub.deliver("wake")
        waiting.cancel()
        try:
            await waiting
        except asyncio.CancelledError:
            assert sub.drain() == ["wake"]  # the message stays for the next wait
            continue
        raise AssertionError("a cancelled wait returned a message instead of being cancelled")
