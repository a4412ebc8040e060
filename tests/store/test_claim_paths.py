"""The two ways a claim is made, on both backends: runs of ``allow`` jobs (which bypass their
job's concurrency) claimed without any job lock (on PostgreSQL one statement in one round
trip, ``store/claims_pg.py``), and runs of jobs that count their running runs, claimed under those
jobs' locks within their concurrency, even when both kinds wait on the same routes."""

from __future__ import annotations

import json
from typing import Any

import pytest
import sqlalchemy as sa

from tickwork.domain.clock import FakeClock
from tickwork.domain.queries import NewRun
from tickwork.store import claims_pg, claims_sql
from tickwork.store.sql import SqlStore

from .helpers import add_job, add_worker, claim


async def queue(store: SqlStore, clock: FakeClock, job_id: str, n: int) -> list[str]:
    made = await store.runs.bulk(
        [NewRun(job_id=job_id, trigger="manual") for _ in range(n)], now=clock.now()
    )
    return [run_id for run_id, _ in made]


def count_fast(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Whether each claim's fast path answered (True) or handed over (False)."""
    answered: list[bool] = []
    real = claims_sql.claim_bypassing

    async def spy(*args: object, **kw: object) -> object:
        got = await real(*args, **kw)  # type: ignore[arg-type]
        answered.append(got is not None)
        return got

    monkeypatch.setattr(claims_sql, "claim_bypassing", spy)
    return answered


async def test_allow_runs_are_claimed_in_order_with_their_targets(
    store: SqlStore, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast = count_fast(monkeypatch)
    job = await add_job(store, clock, "wide", on_overlap="allow", parameters={"n": 1})
    ids = await queue(store, clock, job.id, 5)
    wid = await add_worker(store, clock)
    first = await claim(store, clock, wid, limit=3)
    rest = await claim(store, clock, wid, limit=10)
    assert [a.run_id for a in first + rest] == sorted(ids)  # queued together: by id
    assert {a.fence for a in first + rest} == {1}
    assert all(
        a.job_name == "wide" and a.target == {"command": "true", "cwd": None, "env": {}}
        for a in first
    )
    assert first[0].parameters == {"n": 1} and first[0].attempt == 1
    assert await claim(store, clock, wid) == []
    assert fast == ([True, True, True] if store.db.is_postgres else [])


async def test_allow_runs_come_in_priority_order_and_a_repeat_takes_the_next(
    store: SqlStore, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast = count_fast(monkeypatch)
    low = await add_job(store, clock, "low", on_overlap="allow", priority=10)
    high = await add_job(store, clock, "high", on_overlap="allow", priority=90)
    lows = await queue(store, clock, low.id, 2)
    clock.advance(1)
    highs = await queue(store, clock, high.id, 2)
    wid = await add_worker(store, clock)
    first = await claim(store, clock, wid, limit=3)
    assert [a.run_id for a in first] == sorted(highs) + sorted(lows)[:1]
    assert [a.job_name for a in first] == ["high", "high", "low"]
    [last] = await claim(store, clock, wid, limit=3)
    assert last.run_id == sorted(lows)[1] and last.job_name == "low"
    assert fast == ([True, True] if store.db.is_postgres else [])


async def test_runs_of_limited_jobs_keep_their_concurrency_beside_allow_runs(
    store: SqlStore, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast = count_fast(monkeypatch)
    one = await add_job(store, clock, "one", on_overlap="queue", concurrency=1)
    wide = await add_job(store, clock, "wide", on_overlap="allow")
    await queue(store, clock, one.id, 3)
    await queue(store, clock, wide.id, 3)
    wid = await add_worker(store, clock)
    got = await claim(store, clock, wid, limit=10)
    assert sorted(a.job_name for a in got) == ["one", "wide", "wide", "wide"]
    assert await claim(store, clock, wid, limit=10) == []  # "one" is at its limit
    assert fast == ([False] if store.db.is_postgres else [])  # then the general way a while


async def test_a_claim_of_one_route_reads_the_index_in_its_order(
    store: SqlStore, clock: FakeClock
) -> None:
    """ix_runs_claimable holds the claim's order after the route: no sort of the backlog (it
    was 175 ms a claim at 50,000 queued, sorting on disk), the scan stops at the limit."""
    if not store.db.is_postgres:
        return
    job = await add_job(store, clock, "deep", on_overlap="allow")
    await queue(store, clock, job.id, 3000)
    params = {"route": "default", "now": clock.now(), "limit": 16}
    async with store.writer.connect() as conn:
        await conn.execute(sa.text("ANALYZE runs"))
        explain = "EXPLAIN (ANALYZE, FORMAT JSON) " + claims_pg.PICK[("one", "all")]
        [[plan]] = (await conn.exec_driver_sql(explain, params)).all()
    text = json.dumps(plan)
    assert "ix_runs_claimable" in text and '"Sort"' not in text, text
    scanned = max(n["Actual Rows"] for n in _nodes(plan[0]["Plan"]))
    assert scanned <= 16, f"read {scanned} rows for a claim of 16"


def _nodes(node: dict[str, Any]) -> list[dict[str, Any]]:
    return [node, *(n for child in node.get("Plans", []) for n in _nodes(child))]
