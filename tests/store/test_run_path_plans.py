"""The run path's statements on PostgreSQL read only the rows they name, whatever the
planner believes about the tables.

A burst (10,000 runs queued at the top of a minute, a bulk enqueue, thousands of jobs added
at once) leaves the statistics behind the tables until the next ANALYZE: the planner then
takes the queued runs for a handful and the jobs for a few dozen. Statements whose plan
depends on that estimate went wrong exactly then, on every claim and report of the burst
(measured in ``make bench`` at 10,000 queued runs: the claim's update walked every queued run
to find its 16, 10,000 buffers a claim; with the jobs table never analysed, the report's
lock hashed every job). Each statement here reads the runs and jobs it names by primary key,
through a plan made before the burst."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from psycopg.sql import Literal
from sqlalchemy.ext.asyncio import AsyncConnection

from tickwork.domain.clock import FakeClock
from tickwork.store import claims_pg, reports_pg
from tickwork.store.sql import SqlStore

pytestmark = pytest.mark.parametrize("db_url", ["postgres"], indirect=True)

JOBS = 10_000
"""Jobs of the burst, each with a run queued."""
SMALL = 300
"""Finished runs (of as many jobs, unless fewer are asked) when the plans are made."""
LIMIT = 16
READ_AT_MOST = 4 * LIMIT
"""Rows any plan node may produce or throw away for a claim (or report) of LIMIT runs."""


def generic(statement: str) -> tuple[str, list[str]]:
    """A driver statement (``%(name)s`` placeholders) as the text of a PREPARE (``$n``),
    with its parameters' names in order."""
    names = list(dict.fromkeys(re.findall(r"%\((\w+)\)s", statement)))
    for i, name in enumerate(names, 1):
        statement = statement.replace(f"%({name})s", f"${i}")
    return statement, names


@asynccontextmanager
async def planned_small(
    store: SqlStore,
    clock: FakeClock,
    statements: dict[str, tuple[str, dict[str, Any]]],
    analysed: tuple[str, ...] = (),
    jobs: int = SMALL,
) -> AsyncIterator[AsyncConnection]:
    """A connection holding ``statements`` prepared, each with the plan it made while the
    tables were small (SMALL finished runs of ``jobs`` jobs), with ``analysed`` (all tables
    if none named) analysed then and the others never: the plan a pooled connection keeps
    while the tables grow (psycopg prepares a statement run five times; PostgreSQL keeps its
    generic plan until an ANALYZE of its tables invalidates it, and none comes while
    autovacuum is off or has not come by yet). Each is run once then, which makes its plan."""
    await add_jobs(store, clock, jobs, "completed", "small", runs=SMALL)
    async with store.writer.connect() as conn:
        await conn.execute(sa.text(f"ANALYZE {', '.join(analysed)}"))
        await conn.execute(sa.text("SET plan_cache_mode = force_generic_plan"))
        for name, (statement, params) in statements.items():
            text, _ = generic(statement)
            await conn.exec_driver_sql(f"PREPARE {name} AS {text}")
            await conn.exec_driver_sql(f"EXECUTE {name}({await literals(conn, statement, params)})")
        await conn.commit()
        yield conn


async def add_jobs(
    store: SqlStore, clock: FakeClock, n: int, status: str, prefix: str, runs: int = 0
) -> list[str]:
    """n jobs added at once with ``runs`` runs (one each by default) in ``status`` spread
    over them; the runs' ids."""
    async with store.writer.connect() as conn:
        await conn.execute(
            sa.text(
                "INSERT INTO jobs (id, name, type, spec, schedule_type, route, enabled, "
                "priority, concurrency, running_count, created_at, updated_at) "
                "SELECT :p || '-' || i, :p || '-' || i, 'shell', "
                "jsonb_build_object('name', :p || '-' || i, 'type', 'shell', "
                "'command', 'true', 'on_overlap', 'allow'), "
                "NULL, 'default', true, 50, 1, 0, :now, :now "
                "FROM generate_series(1, :n) AS i"
            ),
            {"now": clock.now(), "n": n, "p": prefix},
        )
        ids = (
            await conn.execute(
                sa.text(
                    "INSERT INTO runs (id, job_id, namespace, trigger, status, route, "
                    "priority, attempt, max_attempts, bypass_concurrency, fence, queued_at, "
                    "cancel_requested, idempotency_key, parameters, timeout, upstream_run_ids) "
                    "SELECT 'run-' || :p || '-' || lpad(i::text, 6, '0'), "
                    ":p || '-' || (1 + (i - 1) % :jobs), "
                    "'default', 'manual', :status, 'default', 50, 1, 1, true, 0, "
                    ":now, false, :p || '-' || i, '{}', 60, '[]' "
                    "FROM generate_series(1, :runs) AS i RETURNING id"
                ),
                {
                    "runs": runs or n,
                    "jobs": n,
                    "now": clock.now() - timedelta(seconds=1),
                    "n": n,
                    "p": prefix,
                    "status": status,
                },
            )
        ).scalars()
        await conn.commit()
    return sorted(ids)


async def literals(conn: AsyncConnection, statement: str, params: dict[str, Any]) -> str:
    """The arguments of an EXECUTE of ``statement`` (EXPLAIN EXECUTE binds no parameters)."""
    _, names = generic(statement)
    pg = (await conn.get_raw_connection()).driver_connection
    return ", ".join(Literal(params[n]).as_string(pg) for n in names)


async def explained(
    conn: AsyncConnection, name: str, statement: str, params: dict[str, Any]
) -> dict[str, Any]:
    """EXPLAIN ANALYZE of the prepared ``name`` (the plan it keeps) in a transaction rolled
    back: a claim's update runs, and is undone."""
    args = await literals(conn, statement, params)
    rows = (
        await conn.exec_driver_sql(
            f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) EXECUTE {name}({args})"
        )
    ).all()
    await conn.rollback()
    plan: dict[str, Any] = rows[0][0][0]["Plan"]
    return plan


def nodes(node: dict[str, Any]) -> list[dict[str, Any]]:
    return [node, *(n for child in node.get("Plans", []) for n in nodes(child))]


def assert_reads_little(plan: dict[str, Any]) -> None:
    for node in nodes(plan):
        produced = node["Actual Rows"] * node["Actual Loops"]
        thrown = sum(
            node.get(k, 0) for k in ("Rows Removed by Filter", "Rows Removed by Join Filter")
        )
        assert produced <= READ_AT_MOST and thrown <= READ_AT_MOST, (
            f"{node['Node Type']} on {node.get('Relation Name')} via {node.get('Index Name')}: "
            f"{produced} rows out, {thrown} thrown away\n{json.dumps(plan, indent=1)}"
        )
        assert not (node["Node Type"] == "Seq Scan" and node["Relation Name"] in ("jobs", "runs"))


async def test_the_bypassing_claim_reads_only_what_it_claims_in_a_burst(
    store: SqlStore, clock: FakeClock
) -> None:
    now = clock.now()
    params = {
        "route": "default",
        "now": now,
        "limit": LIMIT,
        "worker": "worker-a",
        "expires": now + timedelta(seconds=30),
        "ack": now + timedelta(seconds=5),
    }
    claim = claims_pg.CLAIM_FREE[("one", "all")]
    async with planned_small(store, clock, {"claim": (claim, params)}) as conn:
        await add_jobs(store, clock, JOBS, "queued", "burst")
        assert_reads_little(await explained(conn, "claim", claim, params))


async def test_a_reports_lock_and_a_claims_targets_read_by_key_in_a_burst(
    store: SqlStore, clock: FakeClock
) -> None:
    statements = {
        "lock_runs": reports_pg.LOCK_RUNS,
        "lock_dependents": reports_pg.LOCK_DEPENDENTS,
        "lock_pipeline_runs": reports_pg.LOCK_PIPELINE_RUNS,
        "targets": claims_pg.JOBS,
    }
    none: dict[str, Any] = {"ids": [], "finishing": []}
    planned = {k: (v, none) for k, v in statements.items()}
    # a few jobs, never analysed, with their runs analysed
    tables = ("runs", "job_deps", "pipeline_runs")
    async with planned_small(store, clock, planned, tables, jobs=3) as conn:
        ids = await add_jobs(store, clock, JOBS, "queued", "burst")
        named = ids[:: JOBS // LIMIT][:LIMIT]  # runs of jobs spread over the table
        for name, statement in statements.items():
            params = {"ids": named, "finishing": named}
            assert_reads_little(await explained(conn, name, statement, params))
