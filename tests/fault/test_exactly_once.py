"""Faults against the effectively-once discipline, counted by the job's own side effects."""

from __future__ import annotations

import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from tests.integration.conftest import FAST
from tests.integration.harness import Cluster, cluster, free_port, wait_until


def side_effects(marker_dir: Path, prefix: str = "") -> list[Path]:
    return sorted(p for p in marker_dir.iterdir() if p.name.startswith(prefix))


def attempts(run: dict[str, object]) -> list[tuple[str, str | None]]:
    """Each attempt's status and error, so a failing assertion says why an attempt ended."""
    return [(a["status"], a.get("error")) for a in run["attempts"]]  # type: ignore[attr-defined]


def test_hundred_concurrent_triggers_three_workers_one_execution(
    pg_database: str, redis_url: str, redis_prefix: str, tmp_path: Path
) -> None:
    # What is under test is the trigger race, not lease expiry: a lease long enough that a
    # coordinator slowed by the burst (2 cores, a parallel test session) cannot make a worker's
    # watchdog give up on the held run.
    with cluster(
        pg_database,
        redis_url,
        redis_prefix,
        **{**FAST, "lease_seconds": 30, "worker_lost_after": 30, "ack_timeout": 10},
    ) as tw:
        _hundred_triggers_one_execution(tw, tmp_path)


def _hundred_triggers_one_execution(tw: Cluster, tmp_path: Path) -> None:
    for _ in range(3):
        tw.start_worker(concurrency=4)
    gate = tmp_path / "gate"
    marks = tmp_path / "marks"
    marks.mkdir()
    tw.create_job(
        name="once",
        type="python",
        function="itjobs.gated_record",
        parameters={"marker_dir": str(marks), "gate": str(gate)},
    )

    def trigger(_: int) -> str:
        with httpx.Client(base_url=tw.url, timeout=30) as client:
            r = client.post("/api/jobs/once/trigger")
            assert r.status_code == 202, r.text
            return str(r.json()["run_id"])

    with ThreadPoolExecutor(max_workers=25) as pool:
        run_ids = set(pool.map(trigger, range(100)))
    assert len(run_ids) == 1  # the run is held open until every trigger has answered
    gate.touch()
    run = tw.wait_status(run_ids.pop(), "completed", "failed", timeout=30)
    assert attempts(run) == [("completed", None)]
    assert tw.http.get("/api/runs", params={"job": "once"}).json()["total"] == 1
    assert len(side_effects(marks, "done-")) == 1


def test_worker_killed_mid_run_is_re_executed_once_elsewhere(tw: Cluster, tmp_path: Path) -> None:
    first = tw.start_worker()
    tw.create_job(
        name="survivor",
        type="python",
        function="itjobs.slow_record",
        parameters={"marker_dir": str(tmp_path), "seconds": 2},
        retry_delay=0.1,
    )
    run_id = tw.trigger("survivor")
    started = wait_until(
        lambda: (r := tw.run(run_id))["attempts"] and r, what="the attempt to start"
    )
    first.signal(signal.SIGKILL)
    tw.start_worker()
    run = tw.wait_status(run_id, "completed", timeout=30)
    assert [a["status"] for a in run["attempts"]] == ["lost", "completed"]
    assert run["attempts"][0]["worker"] == started["worker"]
    assert run["attempts"][1]["worker"] != started["worker"]
    assert "lease expired" in run["attempts"][0]["error"]
    time.sleep(2.5)  # the killed worker's child would have finished its sleep by now
    assert len(side_effects(tmp_path, "done-")) == 1


def test_frozen_worker_gets_409_and_the_run_is_recorded_once(tw: Cluster, tmp_path: Path) -> None:
    frozen = tw.start_worker()
    tw.create_job(
        name="frozen",
        type="python",
        function="itjobs.slow_record",
        parameters={"marker_dir": str(tmp_path), "seconds": 1},
        retry_delay=0.1,
    )
    run_id = tw.trigger("frozen")
    first_worker = wait_until(lambda: tw.run(run_id)["attempts"], what="the attempt to start")[0][
        "worker"
    ]
    frozen.signal(signal.SIGSTOP)
    try:
        tw.start_worker()
        run = tw.wait_status(run_id, "completed", timeout=30)
    finally:
        frozen.signal(signal.SIGCONT)
    # the resumed worker reports its old attempt with its old fence: refused with 409
    wait_until(
        lambda: any("stale" in line.lower() or "409" in line for line in frozen.lines),
        timeout=15,
        what="the resumed worker to be told its fence is stale",
    )
    after = tw.run(run_id)
    assert [a["status"] for a in after["attempts"]] == ["lost", "completed"]
    assert after["attempts"][0]["worker"] == first_worker
    assert after["finished_at"] == run["finished_at"]  # the outcome was not recorded twice


def test_at_most_once_a_killed_worker_s_run_is_never_started_again(
    tw: Cluster, tmp_path: Path
) -> None:
    """SIGKILL mid-run: the lease lapses and the run ends failed, not retried, although it
    has retries left and another worker is waiting: one execution began, never two."""
    first = tw.start_worker()
    tw.create_job(
        name="payout",
        type="python",
        function="itjobs.marked_slow",
        parameters={"marker_dir": str(tmp_path), "seconds": 2},
        retries=3,
        retry_delay=0.1,
        delivery="at_most_once",
    )
    run_id = tw.trigger("payout")
    wait_until(lambda: side_effects(tmp_path, "began-"), what="the run to begin")
    first.signal(signal.SIGKILL)
    tw.start_worker()
    run = tw.wait_status(run_id, "failed", "completed", "queued", timeout=30)
    assert run["status"] == "failed", attempts(run)
    assert run["error"].startswith("lost; not retried: at-most-once"), run["error"]
    assert [a["status"] for a in run["attempts"]] == ["lost"]
    time.sleep(1.5)  # a retry, were there one, would have begun on the waiting worker by now
    assert len(side_effects(tmp_path, "began-")) == 1
    assert tw.run(run_id)["status"] == "failed"


def test_at_most_once_a_frozen_worker_s_run_is_not_started_elsewhere(
    tw: Cluster, tmp_path: Path
) -> None:
    """SIGSTOP past the lease: the run ends failed rather than going to the other worker; the
    resumed worker finishes its one execution and is told its fence is stale (409)."""
    frozen = tw.start_worker()
    tw.create_job(
        name="frozen-once",
        type="python",
        function="itjobs.marked_slow",
        parameters={"marker_dir": str(tmp_path), "seconds": 1},
        retries=3,
        retry_delay=0.1,
        delivery="at_most_once",
    )
    run_id = tw.trigger("frozen-once")
    wait_until(lambda: side_effects(tmp_path, "began-"), what="the run to begin")
    frozen.signal(signal.SIGSTOP)
    try:
        tw.start_worker()
        run = tw.wait_status(run_id, "failed", "completed", timeout=30)
    finally:
        frozen.signal(signal.SIGCONT)
    assert run["status"] == "failed" and "at-most-once" in run["error"], attempts(run)
    wait_until(
        lambda: any("stale" in line.lower() or "409" in line for line in frozen.lines),
        timeout=15,
        what="the resumed worker to be told its fence is stale",
    )
    assert len(side_effects(tmp_path, "began-")) == 1
    after = tw.run(run_id)
    assert after["status"] == "failed" and after["finished_at"] == run["finished_at"]


def test_two_coordinators_racing_make_one_run_per_tick(tw: Cluster) -> None:
    second_port = free_port()
    tw.start_coordinator(port=second_port)
    tw.start_worker(concurrency=8)
    for i in range(10):
        tw.create_job(
            name=f"tick-{i}", type="shell", command="true", schedule="every 1s", on_overlap="allow"
        )
    time.sleep(4)
    for i in range(10):
        runs = tw.http.get("/api/runs", params={"job": f"tick-{i}", "limit": 100}).json()
        ticks = [r["scheduled_for"] for r in runs["runs"]]
        assert len(ticks) >= 2
        assert len(ticks) == len(set(ticks)), f"tick-{i} has a tick twice: {ticks}"
    leaders = [
        httpx.get(f"http://127.0.0.1:{p}/api/health").json()["scheduler_leader"]
        for p in (tw.port, second_port)
    ]
    assert sorted(leaders) == [False, True]


def test_redis_restart_does_not_stop_the_cluster(pg_database: str, tmp_path: Path) -> None:
    """A private Redis server, restarted under a running coordinator and worker."""
    port = free_port()
    args = [
        "redis-server",
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(tmp_path),
    ]
    redis_proc = subprocess.Popen(args, stdout=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    wait_until(
        lambda: (
            subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True).returncode
            == 0
        ),
        what="redis",
    )
    try:
        with cluster(pg_database, url, "restart", **FAST) as c:
            c.start_worker()
            c.create_job(name="steady", type="shell", command="echo up", on_overlap="queue")
            assert c.wait_status(c.trigger("steady"), "completed")["output"] == "up\n"
            redis_proc.terminate()
            redis_proc.wait(10)
            during = c.trigger("steady")  # Redis is down: the database still carries runs
            redis_proc = subprocess.Popen(args, stdout=subprocess.DEVNULL)
            c.wait_status(during, "completed", timeout=30)
            after = c.trigger("steady")
            assert c.wait_status(after, "completed", timeout=30)["output"] == "up\n"
            # health pings Redis on a pooled connection the restart closed: it may answer
            # "down" once before the client reconnects; the cluster must come back to ok
            wait_until(
                lambda: httpx.get(f"{c.url}/api/health").json()["checks"]["coordination"] == "ok",
                timeout=10,
                what="health to see Redis again",
            )
    finally:
        redis_proc.terminate()
        redis_proc.wait(10)
