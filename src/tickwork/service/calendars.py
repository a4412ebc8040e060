"""Calendar use cases: create, replace (recomputing the next_run of the jobs that use the
calendar), delete (refused while jobs use it), list, look up, upcoming days."""

from __future__ import annotations

from datetime import datetime

from tickwork.domain.auth import ANONYMOUS_OPEN, Principal
from tickwork.domain.calendars import (
    Calendar,
    CalendarSpec,
    DayInfo,
    business_days,
    validate_calendar,
)
from tickwork.domain.clock import Clock
from tickwork.domain.errors import NotFound, ValidationError
from tickwork.domain.jobs import Job, first_run
from tickwork.domain.namespaces import DEFAULT_NAMESPACE, NamespaceFilter
from tickwork.domain.pipelines import Pipeline
from tickwork.domain.pipelines import first_run as pipeline_first_run
from tickwork.store.base import Store

from .notify import Notifier


class CalendarService:
    def __init__(self, store: Store, clock: Clock, notifier: Notifier) -> None:
        self.store = store
        self.clock = clock
        self.notifier = notifier

    async def get(
        self,
        name: str,
        namespace: str = DEFAULT_NAMESPACE,
        *,
        who: Principal = ANONYMOUS_OPEN,
        needs: str = "read",
    ) -> Calendar:
        who.require(needs, namespace)
        found = await self.store.calendars.get(name, namespace=namespace)
        if found is None:
            raise NotFound(f"no calendar '{name}' in namespace '{namespace}'")
        return found

    async def spec_for(self, name: str, namespace: str) -> CalendarSpec:
        """The calendar a job names (422 ``calendar`` when the namespace has none so named)."""
        found = await self.store.calendars.get(name, namespace=namespace)
        if found is None:
            raise ValidationError(
                "calendar", f"unknown calendar '{name}' in namespace '{namespace}'"
            )
        return found.spec

    async def list_calendars(self, namespaces: NamespaceFilter) -> list[Calendar]:
        return await self.store.calendars.page(namespaces)

    async def create(self, spec: CalendarSpec, *, who: Principal = ANONYMOUS_OPEN) -> Calendar:
        spec = validate_calendar(spec)
        who.require("admin", spec.namespace)
        await self.store.calendars.insert(spec, now=self.clock.now())
        return await self.get(spec.name, spec.namespace)

    async def replace(
        self, name: str, spec: CalendarSpec, *, who: Principal = ANONYMOUS_OPEN
    ) -> tuple[Calendar, dict[str, datetime | None]]:
        """Replace a calendar's definition and recompute, in the same transaction, the
        next_run of every enabled job that names it; 422 ``calendar`` (nothing written) when
        that would leave one of them with no fire time."""
        if spec.name != name:
            raise ValidationError("name", f"does not match the calendar in the path ('{name}')")
        spec = validate_calendar(spec)
        await self.get(name, spec.namespace, who=who, needs="admin")
        now = self.clock.now()

        def recompute(job: Job, calendar: CalendarSpec) -> datetime | None:
            try:
                return first_run(job.spec, job_id=job.id, now=now, calendar=calendar)
            except ValidationError as exc:
                raise ValidationError("calendar", f"job '{job.name}': {exc.reason}") from exc

        def recompute_pipeline(pipeline: Pipeline, calendar: CalendarSpec) -> datetime | None:
            try:
                return pipeline_first_run(pipeline.spec, now=now, calendar=calendar)
            except ValidationError as exc:
                raise ValidationError(
                    "calendar", f"pipeline '{pipeline.name}': {exc.reason}"
                ) from exc

        moved = await self.store.calendars.replace(
            spec, recompute=recompute, now=now, recompute_pipeline=recompute_pipeline
        )
        if moved:
            await self.notifier.changed()
        return await self.get(name, spec.namespace), moved

    async def delete(
        self, name: str, namespace: str = DEFAULT_NAMESPACE, *, who: Principal = ANONYMOUS_OPEN
    ) -> None:
        who.require("admin", namespace)
        await self.store.calendars.delete(name, namespace=namespace, now=self.clock.now())

    async def users(self, name: str, namespace: str) -> list[str]:
        return await self.store.calendars.users(name, namespace=namespace)

    def upcoming(self, spec: CalendarSpec, days: int) -> list[DayInfo]:
        """The calendar's days from today (UTC) on: business or not, and why not."""
        today = self.clock.now().date()
        return business_days(spec, today, days)
