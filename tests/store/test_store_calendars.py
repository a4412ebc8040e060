"""Calendar storage: the same assertions on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from tickwork.domain.calendars import CalendarSpec, HolidaySet, validate_calendar
from tickwork.domain.clock import FakeClock
from tickwork.domain.errors import Conflict, NotFound, ValidationError
from tickwork.domain.jobs import Job
from tickwork.domain.namespaces import NamespaceFilter
from tickwork.store.sql import SqlStore

from .helpers import add_job

DE = validate_calendar(
    CalendarSpec(
        "de-business",
        holidays=HolidaySet("DE", "BY"),
        exclude_dates=(date(2026, 12, 24),),
        include_dates=(date(2026, 12, 27),),
        description="Bavarian office days",
    )
)


async def test_insert_get_and_list(store: SqlStore, clock: FakeClock) -> None:
    await store.calendars.insert(DE, now=clock.now())
    await store.calendars.insert(replace(DE, namespace="team-a"), now=clock.now())
    found = await store.calendars.get("de-business", namespace="default")
    assert found is not None
    assert found.spec == DE
    assert found.created_at == found.updated_at == clock.now()
    assert await store.calendars.get("de-business", namespace="nowhere") is None
    every = await store.calendars.page(NamespaceFilter())
    assert [(c.spec.namespace, c.name) for c in every] == [
        ("default", "de-business"),
        ("team-a", "de-business"),
    ]
    only = await store.calendars.page(NamespaceFilter(only=frozenset({"team-a"})))
    assert [c.spec.namespace for c in only] == ["team-a"]


async def test_a_duplicate_name_in_a_namespace_conflicts(store: SqlStore, clock: FakeClock) -> None:
    await store.calendars.insert(DE, now=clock.now())
    with pytest.raises(Conflict, match="already exists in namespace 'default'"):
        await store.calendars.insert(replace(DE, weekdays=(1,)), now=clock.now())
    kept = await store.calendars.get("de-business", namespace="default")
    assert kept is not None and kept.spec.weekdays == (1, 2, 3, 4, 5)


async def test_replace_recomputes_the_next_run_of_its_jobs_in_one_transaction(
    store: SqlStore, clock: FakeClock
) -> None:
    await store.calendars.insert(DE, now=clock.now())
    user = await add_job(store, clock, "uses", schedule="0 9 * * *", calendar="de-business")
    other = await add_job(store, clock, "plain", schedule="0 9 * * *")
    clock.advance(60)
    later = datetime(2027, 1, 4, 8, tzinfo=UTC)

    def recompute(job: Job, spec: CalendarSpec) -> datetime | None:
        assert spec.weekdays == (1,)
        return later

    moved = await store.calendars.replace(
        replace(DE, weekdays=(1,)), recompute=recompute, now=clock.now()
    )
    assert moved == {user.id: later}
    got = await store.jobs.get(user.id)
    assert got is not None and got.next_run == later
    untouched = await store.jobs.get(other.id)
    assert untouched is not None and untouched.next_run == other.next_run
    stored = await store.calendars.get("de-business", namespace="default")
    assert stored is not None and stored.spec.weekdays == (1,)
    assert stored.updated_at == clock.now() != stored.created_at


async def test_a_failed_recompute_changes_nothing(store: SqlStore, clock: FakeClock) -> None:
    await store.calendars.insert(DE, now=clock.now())
    user = await add_job(store, clock, "uses", schedule="0 9 * * *", calendar="de-business")

    def refuse(job: Job, spec: CalendarSpec) -> datetime | None:
        raise ValidationError("calendar", f"job '{job.name}': no business day")

    with pytest.raises(ValidationError, match="job 'uses'"):
        await store.calendars.replace(
            replace(DE, weekdays=(2,)), recompute=refuse, now=clock.now() + timedelta(1)
        )
    stored = await store.calendars.get("de-business", namespace="default")
    assert stored is not None and stored.spec.weekdays == (1, 2, 3, 4, 5)
    got = await store.jobs.get(user.id)
    assert got is not None and got.next_run == user.next_run


async def test_replace_of_an_unknown_calendar_is_not_found(
    store: SqlStore, clock: FakeClock
) -> None:
    with pytest.raises(NotFound):
        await store.calendars.replace(DE, recompute=lambda j, s: None, now=clock.now())


async def test_delete_is_refused_while_jobs_name_it(store: SqlStore, clock: FakeClock) -> None:
    await store.calendars.insert(DE, now=clock.now())
    await add_job(store, clock, "b-user", schedule="0 9 * * *", calendar="de-business")
    await add_job(store, clock, "a-user", schedule="0 9 * * *", calendar="de-business")
    with pytest.raises(Conflict) as caught:
        await store.calendars.delete("de-business", namespace="default", now=clock.now())
    assert caught.value.details == {"jobs": ["a-user", "b-user"]}
    assert await store.calendars.users("de-business", namespace="default") == [
        "a-user",
        "b-user",
    ]
    for name in ("a-user", "b-user"):
        await store.jobs.delete(f"job-{name}", now=clock.now())
    await store.calendars.delete("de-business", namespace="default", now=clock.now())
    assert await store.calendars.get("de-business", namespace="default") is None
    with pytest.raises(NotFound):
        await store.calendars.delete("de-business", namespace="default", now=clock.now())


async def test_a_job_naming_a_missing_calendar_is_refused_in_its_write(
    store: SqlStore, clock: FakeClock
) -> None:
    """The store checks (and holds) the calendar in the job's own transaction, so a calendar
    deleted after the service looked it up cannot leave a job naming nothing."""
    with pytest.raises(ValidationError, match="unknown calendar 'gone'") as caught:
        await add_job(store, clock, "orphan", schedule="0 9 * * *", calendar="gone")
    assert caught.value.field == "calendar"
    assert await store.jobs.get("orphan") is None
    await store.calendars.insert(DE, now=clock.now())
    job = await add_job(store, clock, "kept", schedule="0 9 * * *", calendar="de-business")
    with pytest.raises(ValidationError):
        await store.jobs.replace(
            replace(job, spec=replace(job.spec, calendar="gone")), deps={}, now=clock.now()
        )
    stored = await store.jobs.get(job.id)
    assert stored is not None and stored.spec.calendar == "de-business"
