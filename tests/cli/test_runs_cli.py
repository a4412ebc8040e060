"""Runs, dead letters, workers and status with a real worker process (`tickwork worker`),
and the examples run end to end."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.client.served import EXAMPLES, Served, serve, start_worker
from tests.integration.harness import Proc, base_env, wait_until
from tickwork.client import Client

from .conftest import as_json, invoker, run_cli


class Live:
    def __init__(self, served: Served, worker: Proc, staging: Path) -> None:
        self.served = served
        self.worker = worker
        self.staging = staging
        self.url = served.url
        self.client = Client(served.url, token="")
        self.tw = invoker(served.url)

    def job(self, name: str, **fields: Any) -> None:
        self.client.create_job({"name": name, **fields})

    def finished(self, run_id: str, timeout: float = 30) -> Any:
        return wait_until(
            lambda: (
                (r := self.client.get_run(run_id)).status in ("completed", "failed", "cancelled")
                and r
            ),
            timeout=timeout,
            what=f"{run_id} to finish",
        )


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    root = tmp_path_factory.mktemp("live")
    with serve(root / "tickwork.db") as served:
        worker = start_worker(served.url, env={"TICKWORK_ETL_STAGING": str(root)})
        env = Live(served, worker, root)
        try:
            yield env
        finally:
            env.client.close()
            worker.stop()


def test_follow_prints_live_output_and_exits_when_the_run_ends(live: Live, tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    live.job(
        "gated", type="python", function="clijobs.wait_for_file", parameters={"path": str(gate)}
    )
    run_id = live.client.trigger("gated").run_id
    follower = Proc(
        [sys.executable, "-m", "tickwork.cli.main", "runs", "logs", run_id, "--follow"],
        {**base_env(), "TICKWORK_SERVER": live.url},
        "follow",
    )
    try:
        follower.wait_for_line("waiting for gate")
        assert live.client.get_run(run_id).status == "running"  # the output came live
        assert follower.popen.poll() is None
        gate.touch()
        assert follower.popen.wait(timeout=30) == 0
    finally:
        follower.stop()
    assert follower.lines[:2] == ["waiting for gate", "the file arrived"]
    assert follower.lines[-1].startswith(f"{run_id} completed after ")


def test_follow_a_failing_run_shows_each_attempt_and_exits_1(live: Live, tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    command = f"echo try $TICKWORK_ATTEMPT; while [ ! -e {gate} ]; do sleep 0.02; done; exit 3"
    live.job("flaky", type="shell", command=command, retries=1, retry_delay=0)
    run_id = live.client.trigger("flaky").run_id
    follower = Proc(
        [sys.executable, "-m", "tickwork.cli.main", "runs", "logs", run_id, "-f"],
        {**base_env(), "TICKWORK_SERVER": live.url},
        "follow",
    )
    try:
        follower.wait_for_line("try 1")
        gate.touch()
        assert follower.popen.wait(timeout=30) == 1
    finally:
        follower.stop()
    assert follower.lines[0] == "try 1"
    assert follower.lines[1] == "attempt 1 failed: exit code 3; retrying"
    assert follower.lines[2].startswith("── attempt 2 on worker-")
    assert follower.lines[3] == "try 2"
    assert follower.lines[4].startswith(f"{run_id} failed after ")
    stored = run_cli(live.url, "runs", "logs", run_id, "--follow", "--json")
    assert stored.returncode == 1  # already finished: its stored logs, as JSON
    assert json.loads(stored.stdout)["stdout"] == "try 2\n"


def test_follow_json_prints_one_event_per_line(live: Live, tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    live.job(
        "two-lines",
        type="shell",
        command=f"echo a; while [ ! -e {gate} ]; do sleep 0.02; done; echo b",
    )
    run_id = live.client.trigger("two-lines").run_id
    follower = Proc(
        [sys.executable, "-m", "tickwork.cli.main", "runs", "logs", run_id, "-f", "--json"],
        {**base_env(), "TICKWORK_SERVER": live.url},
        "follow-json",
    )
    try:
        follower.wait_for_line('"chunk": "a\\n"')
        gate.touch()
        assert follower.popen.wait(timeout=30) == 0
    finally:
        follower.stop()
    events = [json.loads(line) for line in follower.lines]
    assert {e["run_id"] for e in events} == {run_id}
    chunks = [e["data"]["chunk"] for e in events if e["type"] == "run.log"]
    assert "".join(chunks) == "a\nb\n"
    assert events[0]["type"] == "run.queued" and events[-1]["type"] == "run.completed"


def test_runs_list_show_logs(live: Live) -> None:
    tw = live.tw
    live.job("hello", type="shell", command="echo hello; echo oops >&2")
    run_id = live.client.trigger("hello").run_id
    live.finished(run_id)
    listed = tw("runs", "list", "--job", "hello")
    assert listed.exit_code == 0 and run_id in listed.stdout and "completed" in listed.stdout
    page = as_json(
        tw("runs", "list", "--job", "hello", "--status", "completed", "--since", "1h", "--json")
    )
    assert [r["id"] for r in page["runs"]] == [run_id]
    assert (
        as_json(tw("runs", "list", "--job", "hello", "--until", "2000-01-01", "--json"))["total"]
        == 0
    )
    bad = tw("runs", "list", "--since", "yesterday-ish")
    assert bad.exit_code == 2 and "neither an ISO time nor an age" in bad.stderr

    shown = tw("runs", "show", run_id)
    assert shown.exit_code == 0
    assert "completed" in shown.stdout and "hello" in shown.stdout
    assert as_json(tw("runs", "show", run_id, "--json"))["attempts"][0]["stdout"] == "hello\n"
    logs = tw("runs", "logs", run_id)
    assert (logs.stdout, logs.stderr) == ("hello\n", "oops\n")
    assert as_json(tw("runs", "logs", run_id, "--json"))["stderr"] == "oops\n"
    missing = tw("runs", "show", "run-nope")
    assert missing.exit_code == 1 and "404 not_found" in missing.stderr


def test_cancel_and_retry(live: Live) -> None:
    tw = live.tw
    live.job("parked", type="shell", command="true", worker_tags=["nobody-has-this"])
    run_id = live.client.trigger("parked").run_id
    cancelled = tw("runs", "cancel", run_id)
    assert cancelled.exit_code == 0 and cancelled.stdout.startswith(f"cancelled {run_id} (parked)")
    again = tw("runs", "cancel", run_id)
    assert again.exit_code == 1 and "409" in again.stderr
    retried = as_json(tw("runs", "retry", run_id, "--json"))
    assert retried["status"] == "queued" and retried["id"] == run_id
    assert tw("runs", "retry", "run-nope").exit_code == 1


def test_dead_letters(live: Live) -> None:
    tw = live.tw
    live.job("doomed", type="shell", command="echo broken >&2; exit 2", retries=0)
    run_id = live.client.trigger("doomed").run_id
    assert live.finished(run_id).status == "failed"
    listed = tw("dlq", "list")
    assert listed.exit_code == 0 and run_id in listed.stdout
    entry = next(
        d for d in as_json(tw("dlq", "list", "--json"))["dead_letters"] if d["run_id"] == run_id
    )
    replayed = tw("dlq", "replay", entry["id"])
    assert replayed.exit_code == 0 and f"{run_id} (doomed)" in replayed.stdout
    assert live.finished(run_id).status == "failed"
    second = next(d for d in live.client.list_dead_letters().dead_letters if d.run_id == run_id)
    resolved = as_json(tw("dlq", "resolve", second.id, "--json"))
    assert resolved["resolved_at"] is not None and resolved["note"] is None
    assert any(
        d["id"] == entry["id"]
        for d in as_json(tw("dlq", "list", "--resolved", "--json"))["dead_letters"]
    )
    assert tw("dlq", "replay", "dlq-nope").exit_code == 1


def test_status_shows_dead_letters_and_a_resolve_keeps_its_note(live: Live) -> None:
    tw = live.tw
    live.job("status-doomed", type="shell", command="echo feed missing >&2; exit 3", retries=0)
    run_id = live.client.trigger("status-doomed").run_id
    assert live.finished(run_id).status == "failed"
    page = as_json(tw("status", "--json"))["dead_letters"]
    assert page["total"] == live.client.list_dead_letters().total >= 1
    [entry] = [d for d in page["dead_letters"] if d["run_id"] == run_id]
    shown = tw("status")
    assert shown.exit_code == 0
    assert f"dead letters   {page['total']} open" in shown.stdout
    assert "latest open dead letters" in shown.stdout and entry["id"] in shown.stdout
    assert "feed missing" in shown.stdout
    none = as_json(tw("status", "--json", "--dead-letters", "0"))["dead_letters"]
    assert (none["dead_letters"], none["total"]) == ([], page["total"])
    done = tw("dlq", "resolve", entry["id"], "--note", "feed back; next run covers it")
    assert done.exit_code == 0
    assert done.stdout.strip().endswith(": feed back; next run covers it")
    listed = tw("dlq", "list", "--resolved")
    assert "feed back; next run covers it" in listed.stdout
    after = as_json(tw("status", "--json"))["dead_letters"]
    assert entry["id"] not in {d["id"] for d in after["dead_letters"]}


def test_workers_and_status(live: Live) -> None:
    tw = live.tw
    workers = tw("workers")
    assert (
        workers.exit_code == 0 and "online" in workers.stdout and "1 online of 1" in workers.stderr
    )
    [worker] = as_json(tw("workers", "--json"))
    assert worker["concurrency"] == 4 and worker["status"] == "online"
    status = tw("status")
    assert status.exit_code == 0
    for label in ("queue depth", "running", "failed 24h", "utilisation", "scheduler lag"):
        assert label in status.stdout
    assert "1 online, " in status.stdout
    overview = as_json(tw("status", "--json"))
    assert overview["health"]["status"] == "ok" and overview["stats"]["workers"]["total_slots"] == 4


def test_examples_run_on_a_worker(live: Live, tmp_path: Path) -> None:
    """examples/jobs.yaml and examples/decorated.py, applied and run for real."""
    jobs = (EXAMPLES / "jobs.yaml").read_text().replace("http://127.0.0.1:8000", live.url)
    (tmp_path / "jobs.yaml").write_text(jobs)
    applied = live.tw("apply", "-f", str(tmp_path / "jobs.yaml"), "--yes")
    assert applied.exit_code == 0, applied.output

    report = live.finished(live.client.trigger("daily-report").run_id)
    assert report.status == "completed", report.error
    assert report.output.endswith("sent to team@example.com\n")
    assert report.result["sent"] == 1
    assert live.finished(live.client.trigger("hourly-cleanup").run_id).output.endswith(
        "cleanup done\n"
    )
    assert live.finished(live.client.trigger("health-ping").run_id).status == "completed"

    extract = live.finished(live.client.trigger("etl-extract").run_id)
    assert extract.output == "extracted 6 orders rows\n"
    load = wait_until(
        lambda: [r for r in live.client.list_runs(job="etl-load").runs if r.status == "completed"],
        what="etl-load to run after etl-transform",
    )[0]
    assert load.trigger == "dependency"
    assert live.client.get_run(load.id).output.endswith(
        "loaded 2 rows into analytics.daily_orders\n"
    )

    decorated = run_cli(live.url, "apply", "--module", "decorated", "--yes", cwd=EXAMPLES)
    assert decorated.returncode == 0, decorated.stderr
    cache = live.finished(live.client.trigger("refresh-cache").run_id)
    assert (cache.output, cache.result) == ("cache refreshed for eu\n", "eu")


@pytest.mark.parametrize("script", ["reports.py", "etl.py", "decorated.py"])
def test_examples_run_as_scripts(script: str, tmp_path: Path) -> None:
    env = {**base_env(), "TICKWORK_ETL_STAGING": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, script], cwd=EXAMPLES, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout


def test_worker_command_passes_its_arguments_through(server: Served) -> None:
    usage = invoker(server.url)("worker", "--help")
    assert (
        usage.exit_code == 0
        and "--concurrency" in usage.stdout
        and "--max-runs-per-child" in usage.stdout
    )
    refused = invoker(server.url)("worker", "--concurrency", "0")
    assert refused.exit_code == 2 and "is not between 1 and 1000" in refused.stderr


def test_runs_show_names_the_upstream_runs_that_fired_a_run(live: Live) -> None:
    live.job("flaky-feed", type="shell", command="echo 'feed down' >&2; exit 4", retries=0)
    live.job(
        "feed-alert",
        type="shell",
        command="echo alerted",
        depends_on=[{"job": "flaky-feed", "on": "failure"}],
    )
    failed = live.finished(live.client.trigger("flaky-feed").run_id)
    assert failed.status == "failed"
    fired = wait_until(
        lambda: live.client.list_runs(job="feed-alert").runs, what="the on-failure dependent"
    )[0]
    shown = live.tw("runs", "show", fired.id)
    assert shown.exit_code == 0, shown.output
    assert f"flaky-feed  {failed.id}  failed  feed down" in shown.stdout
