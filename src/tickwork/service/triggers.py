"""Group commit for manual triggers: concurrent triggers share one transaction.

A trigger that finds no group in flight starts one at once, so an idle coordinator answers
a single trigger as fast as before; triggers arriving while a group is being written wait
for it and go in the next one, together (up to ``most``). Under 32 concurrent clients a
group holds most of them: one job read, one insert of the runs, one of their events and one
of their audit entries, one commit and one wake-up for the lot, instead of one each.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

from tickwork.domain.clock import Clock
from tickwork.domain.errors import TickworkError
from tickwork.domain.queries import TriggerRequest
from tickwork.domain.records import Triggered
from tickwork.store.base import Store

log = logging.getLogger(__name__)

Answer = Triggered | TickworkError | None
"""A trigger's run, its own error, or None: its job's on_overlap needs it alone."""


class TriggerGroups:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        after: Callable[[Sequence[Answer]], Awaitable[None]],
        *,
        most: int = 256,
    ) -> None:
        self.store = store
        self.clock = clock
        self.after = after  # wake-ups once a group has committed
        self.most = most
        self._waiting: list[tuple[TriggerRequest, asyncio.Future[Answer]]] = []
        self._writer: asyncio.Task[None] | None = None
        self.groups = 0  # groups written, and triggers in them (for tests and metrics)
        self.grouped = 0

    async def submit(self, request: TriggerRequest) -> Answer:
        future: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        self._waiting.append((request, future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write())
        return await future

    async def _write(self) -> None:
        while self._waiting:
            group, self._waiting = self._waiting[: self.most], self._waiting[self.most :]
            self.groups += 1
            self.grouped += len(group)
            try:
                answers = await self.store.runs.trigger_many(
                    [request for request, _ in group], now=self.clock.now()
                )
            except Exception as exc:  # the whole group failed (e.g. the database is down)
                for _, future in group:
                    if not future.done():
                        future.set_exception(exc)
                continue
            try:
                await self.after(answers)
            except Exception:  # best effort, as every wake-up: pollers catch up
                log.warning("could not announce %d triggered runs", len(answers), exc_info=True)
            for (_, future), answer in zip(group, answers, strict=True):
                if not future.done():  # a caller that went away leaves its run made
                    future.set_result(answer)

    async def stop(self) -> None:
        """Let the group being written finish (its callers are waiting for it)."""
        if self._writer is not None:
            await asyncio.gather(self._writer, return_exceptions=True)
