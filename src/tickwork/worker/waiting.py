"""Waiting on an event with a time limit, the one way the worker does it."""

from __future__ import annotations

import asyncio

__all__ = ["set_within"]


async def set_within(event: asyncio.Event, seconds: float) -> bool:
    """Wait until ``event`` is set; False if ``seconds`` pass first.

    asyncio.timeout rather than wait_for: on Python 3.11 wait_for can swallow a cancellation
    that arrives just as the event is set, and a loop around it would never stop.
    """
    try:
        async with asyncio.timeout(seconds):
            await event.wait()
    except TimeoutError:
        return False
    return True
