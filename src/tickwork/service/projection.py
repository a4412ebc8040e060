"""Each job's status (its latest run's) kept in step with its runs, off the run path.

Run transitions never write their job's row: under load that row would be written by every
report and claim of every worker, and serialise them. Instead the scheduler's leader follows
the event outbox, and once per pass sets ``last_run_status``/``last_run_at`` of the jobs whose
runs changed from their latest run (one statement), announcing each change as ``job.status``.
The job list and its status filter follow the runs within about a pass (DESIGN.md §3).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from tickwork.domain.clock import Clock
from tickwork.store.base import Store

from .background import BackgroundService
from .events import RowCursor
from .notify import Notifier

log = logging.getLogger(__name__)

ROWS = 2000
"""Outbox rows read per pass."""


class JobStatusProjector(BackgroundService):
    name = "job-status"

    def __init__(
        self,
        store: Store,
        clock: Clock,
        notifier: Notifier,
        is_leader: Callable[[], bool],
        interval: float = 0.5,
    ) -> None:
        super().__init__(interval)
        self.store = store
        self.clock = clock
        self.notifier = notifier
        self.is_leader = is_leader
        self._cursor: RowCursor | None = None

    async def run_once(self) -> bool:
        if not self.is_leader():
            self._cursor = None  # the next leader starts where the outbox is then
            return False
        if self._cursor is None:
            self._cursor = RowCursor(await self.store.events.last_row())
            await self._refresh(await self._unsettled())
        cursor = self._cursor
        rows = await self.store.events.rows_since(cursor.at, limit=ROWS)
        fresh = set(cursor.fresh([row_id for row_id, _, _ in rows]))
        # a row holds one job's events; "batch" (several types) may hold run events too
        jobs = {
            job_id
            for row_id, job_id, type_ in rows
            if row_id in fresh and job_id and (type_.startswith("run.") or type_ == "batch")
        }
        cursor.advance([row_id for row_id, _, _ in rows])
        await self._refresh(sorted(jobs))
        return len(rows) >= ROWS

    async def _unsettled(self) -> list[str]:
        """Jobs whose recorded status may lag (taking over: the last leader may have stopped
        between a run's change and its projection)."""
        return await self.store.jobs.unsettled()

    async def _refresh(self, job_ids: list[str]) -> None:
        if job_ids and await self.store.jobs.refresh_status(job_ids, now=self.clock.now()):
            await self.notifier.changed()


class RunTotalsProjector(BackgroundService):
    """The leader folds finished runs into the run totals (domain/totals.py) from the outbox.

    Its place in the outbox is stored with the totals and moved in the same transaction, and
    only over rows with no gap below them (``RowCursor``), so a finish counts once across
    passes, restarts and changes of leader; a second leader's write finds the place moved
    and is refused whole.
    """

    name = "run-totals"

    def __init__(
        self,
        store: Store,
        clock: Clock,
        is_leader: Callable[[], bool],
        interval: float = 1.0,
    ) -> None:
        super().__init__(interval)
        self.store = store
        self.clock = clock
        self.is_leader = is_leader
        self._cursor: RowCursor | None = None

    async def run_once(self) -> bool:
        if not self.is_leader():
            self._cursor = None
            return False
        if self._cursor is None:
            at = await self.store.stats.totals_at()
            if at is None:
                return False
            self._cursor = RowCursor(at)
        cursor = self._cursor
        since = cursor.at
        rows = await self.store.events.rows_since(since, limit=ROWS)
        cursor.advance([row_id for row_id, _, _ in rows])
        if cursor.at == since:
            return False
        totals = await self.store.events.finish_totals(since, cursor.at)
        stored = await self.store.stats.add_totals(
            totals, since=since, upto=cursor.at, now=self.clock.now()
        )
        if not stored:  # another leader counted these: start again from the stored place
            log.warning("run totals moved by another coordinator; re-reading the position")
            self._cursor = None
            return False
        return len(rows) >= ROWS
