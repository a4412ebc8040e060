"""An ``async def`` job: many of these wait at once on one worker without a process each.

Run it as a tickwork python job (``function: waits.poll_orders``, the worker importing it from
its ``--path``) or on its own: ``python waits.py``. While it awaits, the worker's other runs go
on, on the same event loop; a blocking call here (``time.sleep``, a sync HTTP client) would
hold them all up, and the worker reports it (``--stall-after``).
"""

from __future__ import annotations

import asyncio
from typing import Any


async def check(order: int, delay: float) -> str:
    """Stands for an awaited call (an HTTP request, a database query)."""
    await asyncio.sleep(delay)
    return "shipped" if order % 3 else "pending"


async def poll_orders(orders: list[int], delay: float = 0.1, ctx: Any = None) -> dict[str, int]:
    """Check every order at once; print each answer as it comes; return the counts."""
    counts: dict[str, int] = {}
    for done in asyncio.as_completed([check(order, delay) for order in orders]):
        state = await done
        counts[state] = counts.get(state, 0) + 1
        print(f"order {state}")
    who = f"run {ctx.run_id}" if ctx is not None else "script"
    print(f"{who}: {len(orders)} orders checked")
    return dict(sorted(counts.items()))


if __name__ == "__main__":
    print(asyncio.run(poll_orders([1, 2, 3, 4, 5, 6])))
