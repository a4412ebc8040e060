"""Run use cases: read, one-off runs, cancel, retry, bulk enqueue, dead letters."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tickwork.domain.auth import ANONYMOUS_OPEN, Principal, forbidden
from tickwork.domain.clock import Clock
from tickwork.domain.errors import Forbidden, NotFound, ValidationError
from tickwork.domain.jobs import JobSpec, check_trigger_parameters
from tickwork.domain.namespaces import DEFAULT_NAMESPACE, EVERY_NAMESPACE, NamespaceFilter
from tickwork.domain.oneoff import one_off, secret_fields
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

    async def get(
        self, run_id: str, *, who: Principal = ANONYMOUS_OPEN, needs: str = "read"
    ) -> Run:
        """A run; Forbidden unless ``who`` holds ``needs`` in its job's namespace."""
        run = await self.store.runs.get(run_id)
        if run is None:
            raise NotFound(f"no run '{run_id}'")
        who.require(needs, run.namespace)
        return run

    async def submit(
        self,
        spec: JobSpec,
        *,
        label: str | None = None,
        idempotency_key: str | None = None,
        who: Principal = ANONYMOUS_OPEN,
    ) -> tuple[Run, bool]:
        """Queue a one-off run of an inline definition (domain/oneoff.py): operate in its
        namespace, as a trigger needs; naming a secret needs admin there, as defining a job
        does. With an idempotency key the key's run, if it exists, is answered instead
        (created false)."""
        who.require("operate", spec.namespace)
        now = self.clock.now()
        item = one_off(spec, label=label, idempotency_key=idempotency_key, now=now)
        named = secret_fields(item.spec)
        if named and not who.may("admin", spec.namespace):
            field, secret = named[0]
            denied = forbidden(who, "admin", spec.namespace)
            raise Forbidden(
                f"{field}: secret '{secret}': {denied.message}; an operator may submit "
                "runs that name no secret, or trigger a job that does",
                details={**denied.details, "field": field},
            )
        done = await self.store.one_offs.submit(item, now=now)
        if done.created:
            await self.notifier.runs_ready()
        return await self.get(done.run_id), done.created

    async def definition(self, run: Run) -> JobSpec | None:
        """A one-off run's inline definition (None for a run of a job)."""
        return await self.store.one_offs.spec(run.id) if run.one_off else None

    async def attempts(self, run_id: str) -> list[Attempt]:
        """A run's attempts (the caller has read the run, with its permission checked)."""
        return await self.store.runs.attempts(run_id)

    async def list_runs(
        self, flt: RunFilter, *, limit: int, cursor: str | None
    ) -> tuple[list[Run], Total, str | None]:
        try:
            return await self.store.runs.page(flt, limit=limit, cursor=cursor)
        except ValueError as exc:
            raise ValidationError("cursor", str(exc)) from exc

    async def job_id_of(
        self,
        ref: str,
        namespace: str = DEFAULT_NAMESPACE,
        *,
        who: Principal = ANONYMOUS_OPEN,
    ) -> str:
        """A job's id from its id or its name in ``namespace`` (a filter on lists; read
        permission in its namespace is needed)."""
        found = await self.store.jobs.resolve([ref], namespace=namespace)
        if ref not in found:
            raise NotFound(f"no job with id or name '{ref}' in namespace '{namespace}'")
        job_id = found[ref][0]
        for ns in (await self.store.jobs.namespaces_of([job_id])).values():
            who.require("read", ns)
        return job_id

    async def cancel(
        self, run_id: str, *, by: str = "system", who: Principal = ANONYMOUS_OPEN
    ) -> Run:
        """Queued: cancelled now. Running: its worker is woken to stop it (SIGTERM, SIGKILL).
        ``by`` (who asked) is kept on the run as ``cancelled_by``."""
        await self.get(run_id, who=who, needs="operate")
        _, worker = await self.store.runs.cancel(run_id, by=by, now=self.clock.now())
        if worker:
            await self.notifier.cancel(worker, run_id)
        else:
            await self.notifier.changed()
        return await self.get(run_id)

    async def retry(
        self,
        run_id: str,
        *,
        trigger: str = "manual",
        resolution: str = "retried",
        who: Principal = ANONYMOUS_OPEN,
    ) -> Run:
        await self.get(run_id, who=who, needs="operate")
        run = await self.store.runs.requeue(
            run_id, trigger=trigger, now=self.clock.now(), resolution=resolution
        )
        await self.notifier.runs_ready()
        return run  # as requeued: a worker may already have claimed it

    async def bulk(
        self,
        items: Sequence[tuple[str, dict[str, Any], str | None]],
        *,
        namespace: str = DEFAULT_NAMESPACE,
        who: Principal = ANONYMOUS_OPEN,
    ) -> list[tuple[str, bool]]:
        """Queue many runs; jobs by id, or by name in ``namespace``; ``who`` needs operate
        in every job's namespace (else nothing is queued)."""
        refs = sorted({ref for ref, _, _ in items})
        found = await self.store.jobs.resolve(refs, namespace=namespace)
        missing = [r for r in refs if r not in found]
        if missing:
            raise ValidationError(
                "runs",
                f"unknown job(s) in namespace '{namespace}': {', '.join(missing[:20])}",
            )
        namespaces = await self.store.jobs.namespaces_of([i for i, _ in found.values()])
        for ns in sorted(set(namespaces.values())):
            who.require("operate", ns)
        await self._check_secret_references(items, namespace)
        news = [
            NewRun(job_id=found[ref][0], trigger="manual", parameters=params, idempotency_key=key)
            for ref, params, key in items
        ]
        out = await self.store.runs.bulk(news, now=self.clock.now())
        await self.notifier.runs_ready()
        return out

    async def _check_secret_references(
        self, items: Sequence[tuple[str, dict[str, Any], str | None]], namespace: str
    ) -> None:
        """Each run's parameters may only reuse the secrets its job references (the jobs are
        read only for the items that hold a reference at all)."""
        specs: dict[str, JobSpec] = {}
        for index, (ref, parameters, _) in enumerate(items):
            if not references(parameters):
                continue
            if ref not in specs:
                job = await self.store.jobs.get(ref, namespace=namespace)
                if job is None:
                    raise NotFound(f"no job with id or name '{ref}'")
                specs[ref] = job.spec
            check_trigger_parameters(specs[ref], parameters, field=f"runs.{index}.parameters")

    async def dead_letters(
        self,
        *,
        resolved: bool | None,
        limit: int,
        offset: int,
        namespaces: NamespaceFilter = EVERY_NAMESPACE,
    ) -> tuple[list[DeadLetter], int]:
        return await self.store.dead_letters.page(
            resolved=resolved, limit=limit, offset=offset, namespaces=namespaces
        )

    async def dead_letter(
        self, dl_id: str, *, who: Principal = ANONYMOUS_OPEN, needs: str = "read"
    ) -> DeadLetter:
        found = await self.store.dead_letters.get(dl_id)
        if found is None:
            raise NotFound(f"no dead letter '{dl_id}'")
        who.require(needs, found.namespace)
        return found

    async def replay(self, dl_id: str, *, who: Principal = ANONYMOUS_OPEN) -> Run:
        dl = await self.dead_letter(dl_id, who=who, needs="operate")
        return await self.retry(dl.run_id, trigger="replay", resolution="replayed")

    async def resolve(
        self, dl_id: str, *, note: str | None = None, who: Principal = ANONYMOUS_OPEN
    ) -> DeadLetter:
        """Mark the entry handled without running it again, with an optional note."""
        await self.dead_letter(dl_id, who=who, needs="operate")
        await self.store.dead_letters.resolve(dl_id, note=note, now=self.clock.now())
        await self.notifier.changed()
        return await self.dead_letter(dl_id)
