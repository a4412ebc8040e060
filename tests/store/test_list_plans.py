"""Lists at scale on PostgreSQL: each page read through an index in the list's order."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from tickwork.domain.queries import JobFilter, RunFilter
from tickwork.store.sql import SqlStore

pytestmark = pytest.mark.parametrize("db_url", ["postgres"], indirect=True)


async def test_every_job_list_reads_its_page_in_index_order_among_many(store: SqlStore) -> None:
    """The job list and each filter walk an index in the list's order (name, namespace) and
    stop at the page: no sort of every matching job (0.6 s a page at a million jobs when
    namespaces left the list without such an index), no read of the whole table."""
    now = datetime(2026, 6, 1, tzinfo=UTC)
    async with store.db.write(now) as (conn, _events):
        await conn.execute(
            sa.text(
                "INSERT INTO jobs (id, name, namespace, type, spec, schedule_type, route, "
                "enabled, priority, concurrency, running_count, last_run_status, created_at, "
                "updated_at) "
                "SELECT 'job-' || i, 'many-' || i, ns, 'shell', "
                "jsonb_build_object('name', 'many-' || i, 'type', 'shell', 'command', 'true', "
                "'namespace', ns), CASE WHEN i % 100 = 0 THEN 'once' ELSE 'cron' END, "
                "'default', i % 50 <> 0, 50, 1, 0, CASE WHEN i % 40 = 0 THEN 'failed' "
                "ELSE 'completed' END, :now, :now "
                "FROM (SELECT i, CASE WHEN i % 3 = 0 THEN 'ops' ELSE 'default' END AS ns "
                "FROM generate_series(1, 20000) AS i) AS s"
            ),
            {"now": now},
        )
        await conn.execute(
            sa.text(
                "INSERT INTO job_tags (job_id, tag, name, namespace, listed) "
                "SELECT id, 'team-' || (substr(id, 5)::int % 20), name, namespace, true "
                "FROM jobs"
            )
        )
        await conn.execute(sa.text("ANALYZE jobs"))
        await conn.execute(sa.text("ANALYZE job_tags"))
    pages: list[tuple[str, Any]] = []

    def seen(_conn: object, _cursor: object, statement: str, params: Any, *_: object) -> None:
        if "ORDER BY jobs.name" in statement or "ORDER BY job_tags.name" in statement:
            pages.append((statement, params))

    engine = store.db.reader.sync_engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        for flt in (
            JobFilter(),
            JobFilter(schedule_type="once"),
            JobFilter(status="failed"),
            JobFilter(status="paused"),
            JobFilter(tag="team-7"),
        ):
            _, _, cursor = await store.jobs.page(flt, limit=50, cursor=None)
            await store.jobs.page(flt, limit=50, cursor=cursor)
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert len(pages) == 10
    async with store.db.read() as conn:
        for statement, params in pages:
            plan = "\n".join(
                row[0] for row in await conn.exec_driver_sql("EXPLAIN " + statement, params)
            )
            wanted = "ix_job_tags_list" if "job_tags.tag" in statement else "ix_jobs_list"
            assert wanted in plan and "Sort" not in plan, plan


async def test_the_run_list_by_start_or_duration_reads_its_index_in_order(
    store: SqlStore,
) -> None:
    """Sorted by ``started_at`` or ``duration``, either way, a page walks the partial index
    of the runs with the value and stops at the page (each page sorted every matching run
    before migration 0019: seconds at 10,000,000 runs)."""
    now = datetime(2026, 6, 1, tzinfo=UTC)
    async with store.db.write(now) as (conn, _events):
        await conn.execute(
            sa.text(
                "INSERT INTO jobs (id, name, namespace, type, spec, route, enabled, priority, "
                "concurrency, running_count, created_at, updated_at) VALUES ('job-sorted', "
                "'sorted', 'default', 'shell', '{}', 'default', true, 50, 1, 0, :now, :now)"
            ),
            {"now": now},
        )
        await conn.execute(
            sa.text(
                "INSERT INTO runs (id, job_id, namespace, trigger, idempotency_key, parameters, "
                "status, route, priority, attempt, max_attempts, timeout, bypass_concurrency, "
                "fence, cancel_requested, queued_at, started_at, finished_at, duration, "
                "upstream_run_ids) "
                "SELECT 'run-' || lpad(i::text, 8, '0'), 'job-sorted', 'default', 'manual', "
                "'k' || i, '{}', CASE WHEN i % 100 = 0 THEN 'queued' ELSE 'completed' END, "
                "'default', 50, 1, 1, 60, false, 1, false, "
                ":now - make_interval(secs => i), "
                "CASE WHEN i % 100 = 0 THEN NULL ELSE :now - make_interval(secs => i) END, "
                "CASE WHEN i % 100 = 0 THEN NULL ELSE :now END, "
                "CASE WHEN i % 100 = 0 THEN NULL ELSE (i % 997) * 0.5 END, '[]' "
                "FROM generate_series(1, 20000) AS i"
            ),
            {"now": now},
        )
        await conn.execute(sa.text("ANALYZE runs"))
    pages: list[tuple[str, Any]] = []

    def seen(_conn: object, _cursor: object, statement: str, params: Any, *_: object) -> None:
        if ("FROM runs" in statement and "ORDER BY runs.started_at" in statement) or (
            "ORDER BY runs.duration" in statement
        ):
            pages.append((statement, params))

    engine = store.db.reader.sync_engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        for sort in ("started_at", "duration"):
            for descending in (True, False):
                flt = RunFilter(sort=sort, descending=descending)
                runs, _, cursor = await store.runs.page(flt, limit=50, cursor=None)
                more, _, _ = await store.runs.page(flt, limit=50, cursor=cursor)
                assert len(runs) == len(more) == 50
                assert all(getattr(r, sort) is not None for r in runs + more)
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert len(pages) == 8
    async with store.db.read() as conn:
        for statement, params in pages:
            plan = "\n".join(
                row[0] for row in await conn.exec_driver_sql("EXPLAIN " + statement, params)
            )
            wanted = (
                "ix_runs_duration"
                if "ORDER BY runs.duration" in statement
                else ("ix_runs_started_at")
            )
            assert wanted in plan and "Sort" not in plan, plan
