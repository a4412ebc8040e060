"""Job use cases: create, replace, delete, pause/resume, trigger, list, DAG, preview."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from tickwork.domain import ids
from tickwork.domain.auth import ANONYMOUS_OPEN, Principal
from tickwork.domain.business import BusinessSchedule, PreviewTick
from tickwork.domain.calendars import CalendarPolicy, CalendarSpec
from tickwork.domain.clock import Clock
from tickwork.domain.dag import find_cycle
from tickwork.domain.errors import Conflict, CycleError, NotFound, TickworkError, ValidationError
from tickwork.domain.jobs import (
    DependOn,
    Job,
    JobSpec,
    check_trigger_parameters,
    first_run,
    validate_spec,
)
from tickwork.domain.namespaces import DEFAULT_NAMESPACE, split_ref
from tickwork.domain.queries import JobFilter, JobStats, NewRun, Total, TriggerRequest
from tickwork.domain.records import AuditNote, Triggered
from tickwork.domain.schedules import Schedule, parse_schedule
from tickwork.store.base import Store

from .notify import Notifier
from .triggers import Answer, TriggerGroups


@dataclass(frozen=True, slots=True)
class JobDetail:
    job: Job
    stats: JobStats
    dependents: list[str]


class JobService:
    def __init__(self, store: Store, clock: Clock, notifier: Notifier) -> None:
        self.store = store
        self.clock = clock
        self.notifier = notifier
        self.triggers = TriggerGroups(store, clock, self._announce)

    async def get(
        self,
        ref: str,
        namespace: str = DEFAULT_NAMESPACE,
        *,
        who: Principal = ANONYMOUS_OPEN,
        needs: str = "read",
        deps: bool = True,
    ) -> Job:
        """A job by id, or by name in ``namespace``; Forbidden unless ``who`` holds ``needs``
        in the job's namespace (asked by name: in ``namespace``, before it is looked up)."""
        if not ref.startswith("job-"):
            who.require(needs, namespace)
        job = await self.store.jobs.get(ref, namespace=namespace, deps=deps)
        if job is None:
            where = "" if ref.startswith("job-") else f" in namespace '{namespace}'"
            raise NotFound(f"no job with id or name '{ref}'{where}")
        who.require(needs, job.spec.namespace)
        return job

    async def detail(
        self, ref: str, namespace: str = DEFAULT_NAMESPACE, *, who: Principal = ANONYMOUS_OPEN
    ) -> JobDetail:
        [job] = await self._as_shown([await self.get(ref, namespace, who=who)])
        stats = await self.store.stats.job_totals(job.id)
        return JobDetail(job, stats, await self.store.jobs.dependents(job.id))

    async def create(self, spec: JobSpec, *, who: Principal = ANONYMOUS_OPEN) -> Job:
        now = self.clock.now()
        spec = validate_spec(spec, now=now)
        who.require("admin", spec.namespace)
        if spec.name in {d.job for d in spec.depends_on}:
            raise CycleError([spec.name, spec.name])
        deps = await self._resolve_deps(spec, who)
        job_id = ids.job_id()
        job = Job(
            id=job_id,
            spec=spec,
            created_at=now,
            updated_at=now,
            next_run=first_run(spec, job_id=job_id, now=now, calendar=await self._calendar(spec)),
        )
        await self.store.jobs.insert(job, deps=deps, now=now)
        await self.notifier.changed()
        return await self.get(job.id)

    async def replace(self, ref: str, spec: JobSpec, *, who: Principal = ANONYMOUS_OPEN) -> Job:
        """Replace a job's definition; its namespace is fixed (a spec naming another is
        refused, 422 ``namespace``)."""
        now = self.clock.now()
        current = await self.get(ref, spec.namespace, who=who, needs="admin")
        await self.refuse_owned(current)
        if spec.namespace != current.spec.namespace:
            raise ValidationError(
                "namespace",
                f"job '{current.name}' is in namespace '{current.spec.namespace}'; a job "
                "cannot move (create it in the other namespace and delete this one)",
            )
        spec = validate_spec(spec, now=now)
        deps = await self._resolve_deps(spec, who)
        await self._check_no_cycle(current, spec, sorted(deps))
        next_run = current.next_run
        calendar = await self._calendar(spec)
        retimed = _timing_changed(current.spec, spec) or next_run is None
        if retimed:
            next_run = first_run(spec, job_id=current.id, now=now, calendar=calendar)
        updated = replace(current, spec=spec, updated_at=now, next_run=next_run)
        # its runs written ahead are withdrawn; its next_run goes back to the first of them
        # unless retimed (store Jobs.replace)
        await self.store.jobs.replace(updated, deps=deps, now=now, retimed=retimed)
        await self.notifier.changed()
        return await self.get(current.id)

    async def delete(
        self,
        ref: str,
        namespace: str = DEFAULT_NAMESPACE,
        *,
        force: bool = False,
        who: Principal = ANONYMOUS_OPEN,
    ) -> Job:
        job = await self.get(ref, namespace, who=who, needs="admin")
        await self.refuse_owned(job)
        dependents = await self.store.jobs.dependents(job.id)
        if dependents and not force:
            raise Conflict(
                f"job '{job.name}' is a dependency of {', '.join(dependents)}; delete those "
                "first or pass force=true to remove the dependency from them",
                details={"dependents": dependents},
            )
        await self.store.jobs.delete(job.id, now=self.clock.now())
        await self.notifier.changed()
        return job

    async def set_enabled(
        self,
        ref: str,
        enabled: bool,
        namespace: str = DEFAULT_NAMESPACE,
        *,
        who: Principal = ANONYMOUS_OPEN,
    ) -> Job:
        job = await self.get(ref, namespace, who=who, needs="operate")
        await self.refuse_owned(job)
        now = self.clock.now()
        resumed = replace(job.spec, enabled=True)
        next_run = None
        if enabled:
            calendar = await self._calendar(resumed)
            next_run = first_run(resumed, job_id=job.id, now=now, calendar=calendar)
        await self.store.jobs.set_enabled(job.id, enabled=enabled, next_run=next_run, now=now)
        await self.notifier.changed()
        return await self.get(job.id)

    async def trigger(
        self,
        ref: str,
        *,
        parameters: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
        audit: AuditNote | None = None,
        namespace: str = DEFAULT_NAMESPACE,
        who: Principal = ANONYMOUS_OPEN,
    ) -> tuple[str, str, bool]:
        """Queue a run of the job (by id, or by name in ``namespace``) now; the audit entry,
        if given, is written with it. ``who`` needs operate in the job's namespace.
        Concurrent triggers share a transaction (``TriggerGroups``), except those of jobs
        whose on_overlap reads their active runs, which go one at a time."""
        if not ref.startswith("job-"):
            who.require("operate", namespace)
        request = TriggerRequest(
            ref, parameters or {}, idempotency_key, audit, namespace=namespace, who=who
        )
        done = await self.triggers.submit(request)
        if isinstance(done, TickworkError):
            raise done
        if done is None:
            done = await self._trigger_alone(request)
        return done.run_id, done.status, done.created

    async def _trigger_alone(self, request: TriggerRequest) -> Triggered:
        job = await self.get(
            request.ref,
            request.namespace,
            who=request.who or ANONYMOUS_OPEN,
            needs="operate",
            deps=False,
        )
        check_trigger_parameters(job.spec, request.parameters, field="parameters")
        done = await self.store.runs.trigger(
            NewRun(
                job_id=job.id,
                trigger="manual",
                parameters=dict(request.parameters),
                idempotency_key=request.idempotency_key,
            ),
            now=self.clock.now(),
            audit=request.audit,
        )
        for run_id, worker in done.stopping:  # cancel_previous: as prompt as a cancel
            await self.notifier.cancel(worker, run_id)
        if done.created:
            await self.notifier.runs_ready()  # which also tells event listeners
        else:
            await self.notifier.changed()
        return done

    async def _announce(self, answers: Sequence[Answer]) -> None:
        """After a group of triggers committed: wake waiting claims if it made runs, else
        tell event listeners (a trigger that found its run changes nothing to claim)."""
        done = [a for a in answers if isinstance(a, Triggered)]
        if any(a.created for a in done):
            await self.notifier.runs_ready()
        elif done:
            await self.notifier.changed()

    async def list_jobs(
        self, flt: JobFilter, *, limit: int, cursor: str | None
    ) -> tuple[list[Job], Total, str | None]:
        try:
            jobs, total, nxt = await self.store.jobs.page(flt, limit=limit, cursor=cursor)
        except ValueError as exc:
            raise ValidationError("cursor", str(exc)) from exc
        return await self._as_shown(jobs), total, nxt

    async def _as_shown(self, jobs: list[Job]) -> list[Job]:
        """Jobs as the API shows them: ``next_run`` is when each really fires next, its run
        written ahead of the tick (``schedule_ahead``) when there is one, not the tick after
        it that the scheduler will look at next."""
        ahead = await self.store.jobs.written_ahead([j.id for j in jobs], now=self.clock.now())
        return [
            replace(j, next_run=ahead[j.id])
            if j.id in ahead and (j.next_run is None or ahead[j.id] < j.next_run)
            else j
            for j in jobs
        ]

    async def dag(
        self, namespace: str = DEFAULT_NAMESPACE, *, who: Principal = ANONYMOUS_OPEN
    ) -> tuple[list[Job], list[tuple[str, str, DependOn]]]:
        """The dependency graph of a namespace (upstream id, dependent id, condition), without
        the jobs of other namespaces ``who`` may not read."""
        who.require("read", namespace)
        jobs, edges = await self.store.jobs.dag(namespace)
        shown = {j.id for j in jobs if who.may("read", j.spec.namespace)}
        return (
            [j for j in jobs if j.id in shown],
            [(a, b, on) for a, b, on in edges if a in shown and b in shown],
        )

    async def namespaces(self, who: Principal = ANONYMOUS_OPEN) -> dict[str, int]:
        """The namespaces ``who`` may read that hold jobs, with their job counts (and
        ``default`` always)."""
        readable = who.namespaces("read")
        counts = await self.store.jobs.namespace_counts(readable)
        named = set(readable.only or ())
        if readable.allows(DEFAULT_NAMESPACE):
            named.add(DEFAULT_NAMESPACE)
        return dict(sorted({**dict.fromkeys(named, 0), **counts}.items()))

    def preview(
        self,
        expression: str,
        timezone: str,
        n: int,
        *,
        calendar: CalendarSpec | None = None,
        policy: CalendarPolicy = "skip",
    ) -> tuple[Schedule, list[PreviewTick]]:
        """The next ``n`` fire times; under a calendar, with a line for each closed day whose
        ticks are skipped (or moved) and why."""
        schedule = parse_schedule(expression, timezone)
        now = self.clock.now()
        if calendar is None:
            return schedule, [PreviewTick(t, fires=True) for t in schedule.fire_times(now, n)]
        return schedule, BusinessSchedule(schedule, calendar, policy).preview(now, n)

    async def refuse_owned(self, job: Job) -> None:
        """409 naming the pipeline for a change of one of its task jobs made outside it
        (a replace, patch, delete, pause or resume): a pipeline's tasks change with it."""
        if job.pipeline_id is None:
            return
        owner = await self.store.pipelines.owner(job.pipeline_id) or job.pipeline_id
        raise Conflict(
            f"job '{job.name}' is a task of pipeline '{owner}'; change it through the pipeline",
            details={"pipeline": owner},
        )

    async def _calendar(self, spec: JobSpec) -> CalendarSpec | None:
        """The calendar a job names, from its namespace (422 ``calendar`` if unknown)."""
        if spec.calendar is None:
            return None
        found = await self.store.calendars.get(spec.calendar, namespace=spec.namespace)
        if found is None:
            raise ValidationError(
                "calendar", f"unknown calendar '{spec.calendar}' in namespace '{spec.namespace}'"
            )
        return found.spec

    async def _resolve_deps(self, spec: JobSpec, who: Principal) -> dict[str, DependOn]:
        """The ids of the jobs ``spec`` depends on, with each edge's condition: of its own
        namespace, or named ``other-ns/name`` when ``who`` is an admin there too (else
        Forbidden)."""
        refs = [d.job for d in spec.depends_on]
        for ref in refs:
            ns, _ = split_ref(ref, spec.namespace)
            if ns != spec.namespace:
                who.require("admin", ns)
        found = await self.store.jobs.resolve(refs, namespace=spec.namespace)
        missing = [d for d in refs if d not in found]
        if missing:
            raise ValidationError(
                "depends_on",
                f"unknown job(s) in namespace '{spec.namespace}': {', '.join(missing)}",
            )
        deps: dict[str, DependOn] = {}
        for dep in spec.depends_on:
            job_id, name = found[dep.job]
            if deps.setdefault(job_id, dep.on) != dep.on:
                raise ValidationError("depends_on", f"lists job '{name}' twice")
        ids_ = sorted(deps)
        others = await self.store.jobs.namespaces_of(ids_)
        for ns in others.values():  # a dependency given by id, of another namespace
            if ns != spec.namespace:
                who.require("admin", ns)
        return deps

    async def _check_no_cycle(self, current: Job, spec: JobSpec, dep_ids: list[str]) -> None:
        if current.id in dep_ids:
            raise CycleError([spec.name, spec.name])
        edges = await self.store.jobs.upstream_graph(dep_ids)  # by id: names repeat
        edges[current.id] = list(dep_ids)
        cycle = find_cycle(edges)
        if cycle:
            names = await self.store.jobs.resolve(sorted(set(cycle)), namespace=spec.namespace)
            shown = [spec.name if i == current.id else names[i][1] for i in cycle]
            raise CycleError(_rotate(shown, spec.name))


def _timing_changed(old: JobSpec, new: JobSpec) -> bool:
    def timing(spec: JobSpec) -> tuple[object, ...]:
        return (
            spec.schedule,
            spec.timezone,
            spec.enabled,
            spec.jitter,
            spec.calendar,
            spec.calendar_policy,
        )

    return timing(old) != timing(new)


def _rotate(cycle: list[str], start: str) -> list[str]:
    """Show a cycle starting from the job being changed: a → b → a."""
    body = cycle[:-1]
    if start not in body:
        return cycle
    i = body.index(start)
    body = body[i:] + body[:i]
    return [*body, body[0]]
