"""Scheduler passes at the top of a minute, without waiting for one (PostgreSQL).

``python -m benchmarks.tick --jobs 30000``: that many jobs on `* * * * *` due at one instant,
fired by the scheduler's ``run_once`` on a fake clock until none is due; prints the wall time,
the Python CPU time, when the first pass committed, and the time spent in each statement.
With ``--ahead`` seconds (``schedule_ahead``, 60 by default) the passes run that long before
the tick (the runs are written ahead), then the pass at the tick (the overlap decision of the
runs written ahead, ``ScheduleRows.at_tick``) is timed; ``--ahead 0``: the passes at the tick.
A quicker loop than ``benchmarks.scale`` (no minute to wait for) to profile a pass with
py-spy. The database is dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from sqlalchemy import event

from benchmarks.run import database
from benchmarks.scale import MINUTE_SQL, migrated
from tickwork.config import Settings
from tickwork.domain.clock import FakeClock
from tickwork.service.container import Container


async def passes(url: str, dsn: str, jobs: int, batch: int, ahead: float) -> None:
    due = (datetime.now(UTC) - timedelta(seconds=5)).replace(microsecond=0)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(MINUTE_SQL, {"n": jobs, "due": due})
        conn.execute("VACUUM ANALYZE jobs")
    settings = Settings(database_url=url, auth=False, scheduler_batch=batch, schedule_ahead=ahead)
    clock = FakeClock(due + timedelta(seconds=0.5 - ahead))
    c = Container(settings, clock=clock)
    await c.start(background=False, migrate_db=False)
    spent: dict[str, float] = defaultdict(float)
    calls: Counter[str] = Counter()
    writer = c.store.db.writer.sync_engine

    @event.listens_for(writer, "before_cursor_execute")
    def _before(conn: Any, *_: Any) -> None:
        conn.info["t0"] = time.perf_counter()

    @event.listens_for(writer, "after_cursor_execute")
    def _after(conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        key = " ".join(statement.split())[:80]
        spent[key] += time.perf_counter() - conn.info["t0"]
        calls[key] += 1

    start, cpu = time.perf_counter(), time.process_time()
    first, made, n = 0.0, 0, 0
    try:
        more = True
        while more:
            last = c.scheduler.last
            more = await c.scheduler.run_once()
            n += 1
            if c.scheduler.last is not last:  # a pass that found nothing due keeps the last
                made += c.scheduler.last.created if c.scheduler.last else 0
            first = first or time.perf_counter() - start
        took, cpu = time.perf_counter() - start, time.process_time() - cpu
        if ahead > 0:  # the tick: its runs are due; the pass decides their overlap
            clock.set(due + timedelta(seconds=0.001))
            at = time.perf_counter()
            skipped, _ = await c.store.schedule.at_tick(now=clock.now(), since=None)
            at_tick = time.perf_counter() - at
    finally:
        await c.stop()
    when = f"{ahead:g} s before the tick" if ahead > 0 else "at the tick"
    print(
        f"{jobs:,} jobs, batch {batch:,}: {made:,} runs in {n} passes {when}, {took:.2f} s "
        f"(Python CPU {cpu:.2f} s); the first pass committed after {first:.2f} s"
    )
    if ahead > 0:
        print(f"  the pass at the tick: {at_tick:.2f} s ({skipped} skipped)")
    for key, seconds in sorted(spent.items(), key=lambda kv: -kv[1])[:8]:
        print(f"  {seconds:6.2f} s {calls[key]:5d}x  {key}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=30_000)
    parser.add_argument("--batch", type=int, default=1000, help="scheduler_batch")
    parser.add_argument("--ahead", type=float, default=60.0, help="schedule_ahead (0: off)")
    args = parser.parse_args()
    with database() as name:
        dsn = f"host=127.0.0.1 port=5432 user=postgres dbname={name}"
        url = f"postgresql://postgres@127.0.0.1:5432/{name}"
        asyncio.run(migrated(url))
        asyncio.run(passes(url, dsn, args.jobs, args.batch, args.ahead))


if __name__ == "__main__":
    main()
