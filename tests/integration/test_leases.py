"""Leases of any length: a healthy run that outlives many heartbeats completes, once.

Each combination of lease / heartbeat interval / worker-lost-after gets its own coordinator,
database and worker (real processes); the combinations run side by side so that the test takes
about as long as its longest run (0.8 x the 30 s lease).
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import psycopg

from tests.conftest import PG_ADMIN, RUN_TAG, pg_url

from .harness import cluster

QUICK = {"reaper_interval": 0.2, "scheduler_interval": 0.1, "claim_wait": 2}


@dataclass(frozen=True)
class Case:
    lease: float
    heartbeat: float | None  # None: the default
    lost_after: float | None  # None: the default

    @property
    def name(self) -> str:
        return f"lease={self.lease} heartbeat={self.heartbeat} lost_after={self.lost_after}"


CASES = [
    Case(30, None, None),  # the reported case: TICKWORK_LEASE_SECONDS=30 and nothing else
    Case(6, None, None),  # a short lease with the default heartbeat
    Case(5, 1, None),
    Case(6, 1, 5),  # worker_lost_after shorter than the lease is what counts
    Case(4, 0.5, 8),
]


@contextlib.contextmanager
def database(template: str) -> Iterator[str]:
    name = f"tw_{RUN_TAG}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    try:
        yield pg_url(name)
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run_once(case: Case, template: str, redis_url: str, prefix: str) -> str | None:
    """None if a run of 0.8 x lease completed in one attempt; else what went wrong."""
    seconds = round(0.8 * case.lease, 1)
    settings = {
        **QUICK,
        "lease_seconds": case.lease,
        "heartbeat_interval": case.heartbeat,
        "worker_lost_after": case.lost_after,
    }
    with database(template) as url, cluster(url, redis_url, prefix, **settings) as tw:
        worker = tw.start_worker()
        tw.create_job(name="steady", type="shell", command=f"sleep {seconds}; echo slept")
        run_id = tw.trigger("steady")
        run = tw.wait_status(run_id, "completed", "failed", "queued", timeout=seconds + 30)
        if run["status"] == "queued":  # a retry after a lost lease: wait for the end of it
            run = tw.wait_status(run_id, "completed", "failed", timeout=seconds + 30)
        attempts = [(a["status"], a.get("error")) for a in run["attempts"]]
        if run["status"] == "completed" and attempts == [("completed", None)]:
            return None
        return f"{case.name}: {run['status']} after attempts {attempts}\n{worker.output()[-2000:]}"


def test_a_run_of_four_fifths_of_the_lease_completes_once(
    pg_template: str, redis_url: str, redis_prefix: str
) -> None:
    with ThreadPoolExecutor(max_workers=len(CASES)) as pool:
        problems = list(
            pool.map(
                lambda i: run_once(CASES[i], pg_template, redis_url, f"{redis_prefix}:{i}"),
                range(len(CASES)),
            )
        )
    failed = [p for p in problems if p]
    assert not failed, "\n\n".join(failed)
