"""Run use cases: read, cancel, retry, bulk enqueue, dead letters."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tickwork.domain.clock import Clock
from tickwork.domain.errors import NotFound, ValidationError
from tickwork.domain.jobs import JobSpec, check_trigger_parameters
from tickwork.domain.queries import NewRun, RunFilter, Total
from tickwork.domain.runs import Attempt, DeadLetter, Run
from tickwork.domain.secrets import references
from tickwork.store.base import Store

from .notify import Notifier


class RunService:
    def __init__(self, store: Store, clock: Clock, notifier: Notifier) -> None:
        self.store = store
        self.clock = clock
        self.notifier = notifier

    async def get(self, run_id: str) -> Run:
        run = await self.store.runs.get(run_id)
        if run is None:
            raise NotFound(f"no run '{run_id}'")
        return run

    async def attempts(self, run_id: str) -> list[Attempt]:
        return await self.store.runs.attempts(run_id)

    async def list_runs(
        self, flt: RunFilter, *, limit: int, cursor: str | None
    ) -> tuple[list[Run], Total, str | None]:
        try:
            return await self.store.runs.page(flt, limit=limit, cursor=cursor)
        except ValueError as exc:
            raise ValidationError("cursor", str(exc)) from exc

    async def job_id_of(self, ref: str) -> str:
        found = await self.store.jobs.resolve([ref])
        if ref not in found:
            raise NotFound(f"no job with id or name '{ref}'")
        return found[ref][0]

    async def cancel(self, run_id: str, *, by: str = "system") -> Run:
        """Queued: cancelled now. Running: its worker is woken to stop it (SIGTERM, SIGKILL).
        ``by`` (who asked) is kept on the run as ``cancelled_by``."""
        _, worker = await self.store.runs.cancel(run_id, by=by, now=self.clock.now())
        if worker:
            await self.notifier.cancel(worker, run_id)
        else:
            await self.notifier.changed()
        return await self.get(run_id)

    async def retry(
        self, run_id: str, *, trigger: str = "manual", resolution: str = "retried"
    ) -> Run:
        run = await self.store.runs.requeue(
            run_id, trigger=trigger, now=self.clock.now(), resolution=resolution
        )
        await self.notifier.runs_ready()
        return run  # as requeued: a worker may already have claimed it

    async def bulk(
        self, items: Sequence[tuple[str, dict[str, Any], str | None]]
    ) -> list[tuple[str, bool]]:
        refs = sorted({ref for ref, _, _ in items})
        found = await self.store.jobs.resolve(refs)
        missing = [r for r in refs if r not in found]
        if missing:
            raise ValidationError("runs", f"unknown job(s): {', '.join(missing[:20])}")
        await self._check_secret_references(items)
        news = [
            NewRun(job_id=found[ref][0], trigger="manual", parameters=params, idempotency_key=key)
            for ref, params, key in items
        ]
        out = await self.store.runs.bulk(news, now=self.clock.now())
        await self.notifier.runs_ready()
        return out

    async def _check_secret_references(
        self, items: Sequence[tuple[str, dict[str, Any], str | None]]
    ) -> None:
        """Each run's parameters may only reuse the secrets its job references (the jobs are
        read only for the items that hold a reference at all)."""
        specs: dict[str, JobSpec] = {}
        for index, (ref, parameters, _) in enumerate(items):
            if not references(parameters):
                continue
            if ref not in specs:
                job = await self.store.jobs.get(ref)
                if job is None:
                    raise NotFound(f"no job with id or name '{ref}'")
                specs[ref] = job.spec
            check_trigger_parameters(specs[ref], parameters, field=f"runs.{index}.parameters")

    async def dead_letters(
        self, *, resolved: bool | None, limit: int, offset: int
    ) -> tuple[list[DeadLetter], int]:
        return await self.store.dead_letters.page(resolved=resolved, limit=limit, offset=offset)

    async def dead_letter(self, dl_id: str) -> DeadLetter:
        found = await self.store.dead_letters.get(dl_id)
        if found is None:
            raise NotFound(f"no dead letter '{dl_id}'")
        return found

    async def replay(self, dl_id: str) -> Run:
        dl = await self.dead_letter(dl_id)
        return await self.retry(dl.run_id, trigger="replay", resolution="replayed")

    async def resolve(self, dl_id: str) -> DeadLetter:
        await self.store.dead_letters.resolve(dl_id, now=self.clock.now())
        await self.notifier.changed()
        return await self.dead_letter(dl_id)
