"""Job storage: the same assertions on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
import sqlalchemy as sa

from tickwork.domain.clock import FakeClock
from tickwork.domain.errors import Conflict
from tickwork.domain.jobs import Dependency, Job
from tickwork.domain.queries import JobFilter, Total
from tickwork.store import tables as t
from tickwork.store.counting import EXACT_UP_TO
from tickwork.store.sql import SqlStore
from tickwork.testing import job_spec


def make_job(clock: FakeClock, name: str, **fields: object) -> Job:
    now = clock.now()
    return Job(id=f"job-{name}", spec=job_spec(name, **fields), created_at=now, updated_at=now)


async def test_insert_get_by_id_and_name(store: SqlStore, clock: FakeClock) -> None:
    job = make_job(clock, "alpha", tags=("reports",), schedule="*/5 * * * *")
    await store.jobs.insert(replace(job, next_run=clock.now()), deps={}, now=clock.now())
    by_id = await store.jobs.get(job.id)
    by_name = await store.jobs.get("alpha")
    assert by_id == by_name
    assert by_id is not None
    assert by_id.spec.tags == ("reports",)
    assert by_id.next_run == clock.now()
    assert by_id.status == "idle"


async def test_duplicate_name_conflicts_and_writes_nothing(
    store: SqlStore, clock: FakeClock
) -> None:
    await store.jobs.insert(make_job(clock, "dup"), deps={}, now=clock.now())
    other = replace(make_job(clock, "dup"), id="job-other")
    with pytest.raises(Conflict, match="already exists"):
        await store.jobs.insert(other, deps={}, now=clock.now())
    assert await store.jobs.get("job-other") is None


async def test_dependencies_come_from_the_graph(store: SqlStore, clock: FakeClock) -> None:
    up = make_job(clock, "up")
    down = make_job(clock, "down", depends_on=("up",))
    await store.jobs.insert(up, deps={}, now=clock.now())
    await store.jobs.insert(down, deps={up.id: "success"}, now=clock.now())
    got = await store.jobs.get("down")
    assert got is not None and got.spec.depends_on == (Dependency("up"),)
    assert await store.jobs.dependents(up.id) == ["down"]
    renamed = replace(up, spec=replace(up.spec, name="upstream"))
    await store.jobs.replace(renamed, deps={}, now=clock.now())
    got = await store.jobs.get("down")
    assert got is not None and got.spec.depends_on == (Dependency("upstream"),)
    nodes, edges = await store.jobs.dag("default")
    assert edges == [(up.id, down.id, "success")]
    assert {n.name for n in nodes} == {"upstream", "down"}


async def test_upstream_graph_follows_chains(store: SqlStore, clock: FakeClock) -> None:
    a, b, c = (make_job(clock, n) for n in "abc")
    await store.jobs.insert(a, deps={}, now=clock.now())
    await store.jobs.insert(b, deps={a.id: "success"}, now=clock.now())
    await store.jobs.insert(c, deps={b.id: "success"}, now=clock.now())
    assert await store.jobs.upstream_graph([c.id]) == {c.id: [b.id], b.id: [a.id]}


async def test_list_filters_and_keyset_pages(store: SqlStore, clock: FakeClock) -> None:
    for i in range(7):
        tags = ("reports",) if i % 2 == 0 else ("etl",)
        schedule = "0 9 * * *" if i < 3 else None
        await store.jobs.insert(
            make_job(clock, f"job{i}", tags=tags, schedule=schedule), deps={}, now=clock.now()
        )
    jobs, total, cursor = await store.jobs.page(JobFilter(tag="reports"), limit=2, cursor=None)
    assert total.count == 4
    assert [j.name for j in jobs] == ["job0", "job2"]
    assert cursor is not None
    jobs2, _, cursor2 = await store.jobs.page(JobFilter(tag="reports"), limit=2, cursor=cursor)
    assert [j.name for j in jobs2] == ["job4", "job6"]
    assert cursor2 is None
    cron, total, _ = await store.jobs.page(JobFilter(schedule_type="cron"), limit=50, cursor=None)
    assert total.count == 3 and {j.name for j in cron} == {"job0", "job1", "job2"}
    found, total, _ = await store.jobs.page(JobFilter(q="B5"), limit=50, cursor=None)
    assert total.count == 1 and found[0].name == "job5"
    _, total, _ = await store.jobs.page(JobFilter(q="%"), limit=50, cursor=None)
    assert total.count == 0


async def test_pause_filter_and_status(store: SqlStore, clock: FakeClock) -> None:
    job = make_job(clock, "p")
    await store.jobs.insert(job, deps={}, now=clock.now())
    assert await store.jobs.set_enabled(job.id, enabled=False, next_run=None, now=clock.now())
    assert not await store.jobs.set_enabled(job.id, enabled=False, next_run=None, now=clock.now())
    paused, total, _ = await store.jobs.page(JobFilter(status="paused"), limit=10, cursor=None)
    assert total.count == 1 and paused[0].status == "paused" and not paused[0].spec.enabled
    clock.advance(60)
    assert await store.jobs.set_enabled(
        job.id, enabled=True, next_run=clock.now() + timedelta(minutes=1), now=clock.now()
    )
    got = await store.jobs.get(job.id)
    assert got is not None and got.status == "idle"


async def test_delete_cascades_runs(store: SqlStore, clock: FakeClock) -> None:
    from tickwork.domain.queries import NewRun

    job = make_job(clock, "gone")
    await store.jobs.insert(job, deps={}, now=clock.now())
    run_id = (
        await store.runs.trigger(NewRun(job_id=job.id, trigger="manual"), now=clock.now())
    ).run_id
    await store.jobs.delete(job.id, now=clock.now())
    assert await store.jobs.get(job.id) is None
    assert await store.runs.get(run_id) is None


async def test_totals_are_exact_up_to_a_bound_and_estimated_beyond(
    store: SqlStore, clock: FakeClock
) -> None:
    """A million matches are not counted one by one on PostgreSQL: past EXACT_UP_TO the
    answer is the planner's estimate, and says so. SQLite stays exact."""
    now = clock.now()
    n = EXACT_UP_TO + 50
    rows = [
        {
            "id": f"job-bulk{i:06d}",
            "name": f"bulk{i:06d}",
            "type": "shell",
            "spec": {"name": f"bulk{i:06d}", "type": "shell", "command": "true"},
            "route": "default",
            "enabled": True,
            "priority": 50,
            "concurrency": 1,
            "running_count": 0,
            "created_at": now,
            "updated_at": now,
        }
        for i in range(n)
    ]
    async with store.db.write(now) as (conn, _events):
        await conn.execute(sa.insert(t.jobs), rows)
        if store.is_postgres:
            await conn.execute(sa.text("ANALYZE jobs"))
    _, total, _ = await store.jobs.page(JobFilter(), limit=10, cursor=None)
    if store.is_postgres:
        assert not total.exact and EXACT_UP_TO < total.count < 2 * n
    else:
        assert total == Total(n, exact=True)
    _, few, _ = await store.jobs.page(JobFilter(q="BULK00001"), limit=10, cursor=None)
    assert few == Total(10, exact=True)  # bulk000010 … bulk000019, any case


async def test_pages_of_every_namespace_miss_no_job_named_alike_in_two(
    store: SqlStore, clock: FakeClock
) -> None:
    """Names are unique per namespace, not across them: a list of every namespace orders by
    name then namespace, and a page that ends between two jobs of one name goes on with
    the other (a cursor of the name alone skipped it)."""
    for name, namespace in [("backup", "b"), ("backup", "a"), ("clean", "a"), ("audit", "b")]:
        job = make_job(clock, f"{name}", namespace=namespace, tags=("nightly",))
        await store.jobs.insert(
            replace(job, id=f"job-{name}-{namespace}"), deps={}, now=clock.now()
        )
    seen: list[tuple[str, str]] = []
    cursor = None
    for _ in range(10):
        jobs, total, cursor = await store.jobs.page(JobFilter(), limit=1, cursor=cursor)
        seen += [(j.name, j.spec.namespace) for j in jobs]
        if cursor is None:
            break
    assert seen == [("audit", "b"), ("backup", "a"), ("backup", "b"), ("clean", "a")]
    assert total == Total(4)
    tagged: list[tuple[str, str]] = []  # the list by tag reads the tag's rows: the same
    cursor = None
    for _ in range(10):
        jobs, total, cursor = await store.jobs.page(
            JobFilter(tag="nightly"), limit=1, cursor=cursor
        )
        tagged += [(j.name, j.spec.namespace) for j in jobs]
        if cursor is None:
            break
    assert tagged == seen and total == Total(4)
