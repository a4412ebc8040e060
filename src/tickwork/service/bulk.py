"""Bulk actions: cancel or retry many runs, replay or resolve many dead letters, each in one
transaction; and the open dead letters grouped by job and error."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Literal

from tickwork.domain.clock import Clock
from tickwork.domain.errors import ValidationError
from tickwork.domain.namespaces import DEFAULT_NAMESPACE, EVERY_NAMESPACE, NamespaceFilter
from tickwork.domain.queries import DeadLetterGroup, DeadLetterSelection, RunSelection
from tickwork.domain.records import BulkResult
from tickwork.domain.runs import ACTIVE
from tickwork.store.base import Store

from .notify import Notifier

CANCELLABLE: tuple[str, ...] = tuple(sorted(ACTIVE))
RETRYABLE: tuple[str, ...] = ("failed",)


class BulkService:
    def __init__(self, store: Store, clock: Clock, notifier: Notifier) -> None:
        self.store = store
        self.clock = clock
        self.notifier = notifier

    async def cancel_runs(
        self,
        sel: RunSelection,
        *,
        job: str | None = None,
        by: str,
        namespace: str = DEFAULT_NAMESPACE,
    ) -> BulkResult:
        """Cancel queued runs, ask running ones to stop (their workers are told at once).
        Runs of namespaces the selection's filter leaves out are not touched nor counted."""
        sel = await self._runs(sel, job, CANCELLABLE, namespace)
        done = await self.store.bulk.runs_cancel(sel, by=by, now=self.clock.now())
        if done.count:
            await self.notifier.cancel_many(done.stopping)
        return done

    async def retry_runs(
        self, sel: RunSelection, *, job: str | None = None, namespace: str = DEFAULT_NAMESPACE
    ) -> BulkResult:
        """Queue failed runs again, each a new attempt series."""
        sel = await self._runs(sel, job, RETRYABLE, namespace)
        done = await self.store.bulk.runs_retry(sel, now=self.clock.now())
        if done.count:
            await self.notifier.runs_ready()
        return done

    async def dead_letters(
        self,
        action: Literal["replay", "resolve"],
        sel: DeadLetterSelection,
        *,
        job: str | None = None,
        note: str | None = None,
        namespace: str = DEFAULT_NAMESPACE,
    ) -> BulkResult:
        """Replay (queue their runs again) or resolve open dead letters, with a note."""
        if job is not None:
            sel = replace(sel, job_id=await self._job_id(job, "filter.job", namespace))
        now = self.clock.now()
        if action == "replay":
            done = await self.store.bulk.dead_letters_replay(sel, note=note, now=now)
            if done.count:
                await self.notifier.runs_ready()
        else:
            done = await self.store.bulk.dead_letters_resolve(sel, note=note, now=now)
            if done.count:
                await self.notifier.changed()
        return done

    async def dead_letter_groups(
        self, *, limit: int, namespaces: NamespaceFilter = EVERY_NAMESPACE
    ) -> list[DeadLetterGroup]:
        return await self.store.dead_letters.groups(limit=limit, namespaces=namespaces)

    async def _runs(
        self, sel: RunSelection, job: str | None, allowed: Sequence[str], namespace: str
    ) -> RunSelection:
        """The selection with its job resolved; a filter's statuses must be ``allowed``."""
        wrong = [s for s in sel.statuses if s not in allowed]
        if wrong:
            raise ValidationError(
                "filter.status", f"'{wrong[0]}' is not allowed here: use {', '.join(allowed)}"
            )
        if job is not None:
            sel = replace(sel, job_id=await self._job_id(job, "filter.job", namespace))
        return sel

    async def _job_id(self, ref: str, field: str, namespace: str) -> str:
        found = await self.store.jobs.resolve([ref], namespace=namespace)
        if ref not in found:
            raise ValidationError(
                field, f"no job with id or name '{ref}' in namespace '{namespace}'"
            )
        return found[ref][0]
