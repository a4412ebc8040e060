"""on_overlap=cancel_previous with real processes: the superseded run stops at once.

Default lease and heartbeat (a 28 s long-poll): a run that is only flagged stops at the worker's
next heartbeat, up to half a minute later; told like an explicit cancel, it stops at once.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .harness import Cluster, cluster, process_alive, wait_until


@pytest.fixture
def tw(pg_database: str, redis_url: str, redis_prefix: str) -> Iterator[Cluster]:
    quick = {"reaper_interval": 0.2, "scheduler_interval": 0.1, "claim_wait": 2}
    with cluster(pg_database, redis_url, redis_prefix, **quick) as c:
        yield c


def pid_of(tmp_path: Path, run_id: str) -> int:
    pid_file = tmp_path / f"{run_id}.pid"
    text = wait_until(
        lambda: pid_file.exists() and pid_file.read_text().strip(),
        timeout=30,
        what=f"{run_id} to start",
    )
    return int(text)


def test_a_trigger_stops_the_running_run_it_supersedes_at_once(tw: Cluster, tmp_path: Path) -> None:
    tw.start_worker(grace=0.5)  # at the end, the second run is not waited for (sleep 10)
    tw.create_job(
        name="latest",
        type="shell",
        command=f"echo $$ > {tmp_path}/$TICKWORK_RUN_ID.pid; exec sleep 10",
        on_overlap="cancel_previous",
    )
    first = tw.trigger("latest")
    tw.wait_status(first, "running")
    pid = pid_of(tmp_path, first)
    asked = time.monotonic()
    second = tw.trigger("latest")
    run = tw.wait_status(first, "cancelled", "completed", "failed", timeout=5)
    took = time.monotonic() - asked
    assert run["status"] == "cancelled", run
    assert [a["status"] for a in run["attempts"]] == ["cancelled"]
    wait_until(lambda: not process_alive(pid), timeout=3, what="the first run's process to die")
    assert took < 5  # the next heartbeat would have come up to 28 s later
    tw.wait_status(second, "running", timeout=10)  # the new run runs
    assert process_alive(pid_of(tmp_path, second))
