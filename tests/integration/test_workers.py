"""Workers as real processes: registration, execution, routing, limits, retries, control."""

from __future__ import annotations

import signal
import time
from pathlib import Path

from .harness import Cluster, process_alive, wait_until


def test_seed_demo_queued_running_completed(tw: Cluster) -> None:
    worker = tw.start_worker(tags="cpu-heavy,default", concurrency=4)
    assert any(
        line.startswith("Worker worker-") and line.endswith("registered") for line in worker.lines
    )
    workers = tw.http.get("/api/workers").json()
    assert [(w["tags"], w["concurrency"], w["status"]) for w in workers] == [
        (["cpu-heavy", "default"], 4, "online")
    ]
    tw.create_job(
        name="daily-report", type="python", function="itjobs.hello", parameters={"name": "team"}
    )
    run_id = tw.trigger("daily-report")
    seen = {tw.run(run_id)["status"]}
    done = wait_until(
        lambda: (seen.add((r := tw.run(run_id))["status"]) or r["status"] == "completed") and r,
        what="completion",
    )
    assert seen <= {"queued", "running", "completed"}
    assert done["worker"] == workers[0]["id"]
    assert done["duration"] is not None and done["duration"] >= 0
    assert done["output"] == "Report generated for team\n"
    assert done["result"] == {"greeting": "hello team"}
    assert [a["status"] for a in done["attempts"]] == ["completed"]


def test_heartbeats_advance_and_lost_worker_is_detected(tw: Cluster) -> None:
    worker = tw.start_worker()
    first = tw.http.get("/api/workers").json()[0]["last_heartbeat"]
    wait_until(
        lambda: tw.http.get("/api/workers").json()[0]["last_heartbeat"] > first,
        timeout=10,
        what="a newer heartbeat",
    )
    worker.signal(signal.SIGKILL)
    lost = wait_until(
        lambda: (w := tw.http.get("/api/workers").json()[0])["status"] == "lost" and w,
        timeout=15,
        what="worker marked lost",
    )
    assert lost["id"].startswith("worker-")


def test_tag_routing(tw: Cluster) -> None:
    tw.start_worker(tags="default")
    tw.start_worker(tags="gpu")
    gpu_id = next(w["id"] for w in tw.http.get("/api/workers").json() if w["tags"] == ["gpu"])
    tw.create_job(
        name="train", type="shell", command="echo trained", worker_tags=["gpu"], on_overlap="queue"
    )
    runs = [tw.trigger("train") for _ in range(3)]
    for run_id in runs:
        assert tw.wait_status(run_id, "completed")["worker"] == gpu_id


def test_per_job_concurrency_limit(tw: Cluster, tmp_path: Path) -> None:
    tw.start_worker(concurrency=8)
    gate = tmp_path / "gate"
    tw.create_job(
        name="limited",
        type="python",
        function="itjobs.gated_record",
        parameters={"marker_dir": str(tmp_path), "gate": str(gate)},
        concurrency=2,
        on_overlap="queue",
    )
    runs = [tw.trigger("limited") for _ in range(6)]

    def statuses() -> list[str]:
        return [tw.run(r)["status"] for r in runs]

    wait_until(lambda: statuses().count("running") == 2, what="two runs running")
    for _ in range(10):  # the worker has 8 free slots, yet the job's limit holds
        assert statuses().count("running") == 2
        time.sleep(0.05)
    gate.touch()
    wait_until(lambda: statuses().count("completed") == 6, what="all six runs done")
    assert len([p for p in tmp_path.iterdir() if p.name.startswith("done-")]) == 6


def test_timeout_kills_a_command_that_ignores_sigterm(tw: Cluster, tmp_path: Path) -> None:
    tw.start_worker(extra=["--kill-grace", "0.5"])
    script = (
        f"trap '' TERM; sleep 300 & echo $! > {tmp_path}/child; "
        f"echo $$ > {tmp_path}/shell; sleep 300"
    )
    tw.create_job(name="stubborn", type="shell", command=script, timeout=1, retries=0)
    run = tw.wait_status(tw.trigger("stubborn"), "failed", timeout=20)
    assert "timed out" in (run["error"] or "")
    assert run["error_summary"] == "timed out after 1s"
    assert run["attempts"][0]["status"] == "timed_out"
    for name in ("child", "shell"):
        pid = int((tmp_path / name).read_text())
        wait_until(
            lambda pid=pid: not process_alive(pid),
            timeout=5,
            what=f"{name} process {pid} to be gone",
        )


def test_retries_with_backoff_dead_letter_and_replay(tw: Cluster) -> None:
    tw.start_worker()
    tw.create_job(
        name="boom",
        type="python",
        function="itjobs.boom",
        retries=2,
        retry_delay=0.2,
        backoff="exponential",
    )
    run_id = tw.trigger("boom")
    run = tw.wait_status(run_id, "failed", timeout=20)
    attempts = run["attempts"]
    assert [a["status"] for a in attempts] == ["failed"] * 3
    assert "this job always fails" in attempts[0]["error"]
    assert {a["error_summary"] for a in attempts} == {"RuntimeError: this job always fails"}
    gaps = [(attempts[i + 1]["started_at"], attempts[i]["finished_at"]) for i in range(2)]
    assert all(a > b for a, b in gaps)
    letters = tw.http.get("/api/dead-letters").json()["dead_letters"]
    assert [d["run_id"] for d in letters] == [run_id]
    assert letters[0]["error_summary"] == "RuntimeError: this job always fails"
    replay = tw.http.post(f"/api/dead-letters/{letters[0]['id']}/replay")
    assert replay.status_code == 200 and replay.json()["status"] == "queued"
    again = tw.wait_status(run_id, "failed", timeout=20)
    assert [a["number"] for a in again["attempts"]] == [1, 2, 3, 4, 5, 6]
    assert again["idempotency_key"] == run_id
    assert tw.http.get("/api/dead-letters").json()["total"] == 1  # the new one


def test_cancel_a_running_shell_job(tw: Cluster, tmp_path: Path) -> None:
    tw.start_worker()
    tw.create_job(name="long", type="shell", command=f"echo $$ > {tmp_path}/pid; exec sleep 300")
    run_id = tw.trigger("long")
    tw.wait_status(run_id, "running")
    pid = int(
        wait_until(
            lambda: (tmp_path / "pid").exists() and (tmp_path / "pid").read_text().strip(),
            what="the pid file",
        )
    )
    asked = time.monotonic()
    assert tw.http.post(f"/api/runs/{run_id}/cancel").status_code == 200
    run = tw.wait_status(run_id, "cancelled", timeout=10)
    wait_until(lambda: not process_alive(pid), timeout=3, what="the shell process to die")
    assert time.monotonic() - asked < 4
    assert run["attempts"][-1]["status"] == "cancelled"


def test_dependency_fan_out(tw: Cluster) -> None:
    tw.start_worker()
    tw.create_job(name="extract", type="shell", command="echo extracted")
    tw.create_job(name="load-a", type="shell", command="echo a", depends_on=["extract"])
    tw.create_job(name="load-b", type="shell", command="echo b", depends_on=["extract"])
    upstream = tw.trigger("extract")
    tw.wait_status(upstream, "completed")
    for name in ("load-a", "load-b"):
        runs = wait_until(
            lambda n=name: tw.http.get("/api/runs", params={"job": n}).json()["runs"],
            what=f"a run of {name}",
        )
        assert runs[0]["trigger"] == "dependency"
        assert runs[0]["upstream_run_ids"] == [upstream]
        tw.wait_status(runs[0]["id"], "completed")


def test_graceful_shutdown_finishes_in_flight_runs(tw: Cluster, tmp_path: Path) -> None:
    worker = tw.start_worker(grace=10)
    tw.create_job(
        name="finishing",
        type="python",
        function="itjobs.slow_record",
        parameters={"marker_dir": str(tmp_path), "seconds": 1.5},
    )
    run_id = tw.trigger("finishing")
    wait_until(lambda: tw.run(run_id)["attempts"], what="the attempt to start")
    assert worker.stop(20) == 0  # one SIGTERM (a second one would cut the grace period short)
    run = tw.run(run_id)
    assert run["status"] == "completed", (run, worker.output())
    assert len(list(tmp_path.iterdir())) == 1
    assert tw.http.get("/api/workers").json()[0]["status"] == "offline"


def test_a_shell_failure_is_summed_up_by_its_last_stderr_line(tw: Cluster) -> None:
    tw.start_worker()
    command = "echo working; echo 'ERROR: partner API returned 503' >&2; echo >&2; exit 3"
    tw.create_job(name="partner", type="shell", command=command, retries=0)
    run = tw.wait_status(tw.trigger("partner"), "failed", timeout=20)
    assert run["error"] == "exit code 3"
    assert run["error_summary"] == "ERROR: partner API returned 503"
    groups = tw.http.get("/api/dead-letters/groups").json()["items"]
    assert [(g["job_name"], g["error_summary"], g["count"]) for g in groups] == [
        ("partner", "ERROR: partner API returned 503", 1)
    ]
