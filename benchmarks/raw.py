"""The yardstick: a bare SKIP LOCKED claim-and-complete loop on the same PostgreSQL.

Two processes (like two workers) claim batches of queued rows with FOR UPDATE SKIP LOCKED,
mark them running, then complete them, each step its own transaction, as a queue would.
No scheduler, no HTTP, no process per run: the floor under what any durable queue costs.
"""

from __future__ import annotations

import multiprocessing as mp
import time

import psycopg

DDL = """
CREATE TABLE IF NOT EXISTS bench_raw (
  id bigserial PRIMARY KEY, status text NOT NULL, worker text, lease timestamptz,
  queued_at timestamptz NOT NULL DEFAULT now(), finished_at timestamptz);
CREATE INDEX IF NOT EXISTS bench_raw_queued ON bench_raw (id) WHERE status = 'queued';
"""
CLAIM = """
UPDATE bench_raw SET status = 'running', worker = %(w)s, lease = now() + interval '30 s'
WHERE id IN (SELECT id FROM bench_raw WHERE status = 'queued' ORDER BY id
             LIMIT %(n)s FOR UPDATE SKIP LOCKED)
RETURNING id
"""
COMPLETE = """
UPDATE bench_raw SET status = 'completed', finished_at = now()
WHERE id = ANY(%(ids)s) AND worker = %(w)s AND status = 'running'
"""


def _worker(dsn: str, name: str, batch: int, done: mp.Value) -> None:  # type: ignore[valid-type]
    with psycopg.connect(dsn, autocommit=True) as conn:
        while True:
            with conn.transaction():
                ids = [r[0] for r in conn.execute(CLAIM, {"w": name, "n": batch})]
            if not ids:
                return
            with conn.transaction():
                conn.execute(COMPLETE, {"ids": ids, "w": name})
            with done.get_lock():
                done.value += len(ids)


def measure(dsn: str, n: int, *, workers: int = 2, batch: int = 16) -> float:
    """Runs per second for ``n`` rows claimed and completed by ``workers`` processes."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(DDL)
        conn.execute("TRUNCATE bench_raw")
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO bench_raw (status) VALUES ('queued')", [() for _ in range(n)]
            )
    ctx = mp.get_context("spawn")
    done = ctx.Value("i", 0)
    procs = [ctx.Process(target=_worker, args=(dsn, f"w{i}", batch, done)) for i in range(workers)]
    start = time.perf_counter()
    for p in procs:
        p.start()
    for p in procs:
        p.join(600)
    elapsed = time.perf_counter() - start
    if done.value != n:
        raise RuntimeError(f"raw loop completed {done.value} of {n}")
    return n / elapsed
