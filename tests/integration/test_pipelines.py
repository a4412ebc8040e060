"""A pipeline on real processes (a coordinator on PostgreSQL + Redis, a worker): a failing
task, the task that needed it skipped, its on-failure handler run, the pipeline run ended
failed; then retried from its failure (the failing task fixed by a flag file) to completion;
and `tickwork pipelines trigger --follow` watching one to its end."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from .harness import Cluster, base_env, wait_until


def pipeline(flag: Path, marks: Path) -> dict[str, Any]:
    return {
        "name": "etl",
        "tasks": [
            {
                "name": "extract",
                "type": "shell",
                "command": f"echo extract >> {marks}; test -e {flag}",
                "retries": 0,
            },
            {
                "name": "load",
                "type": "python",
                "function": "itjobs.hello",
                "parameters": {"name": "load"},
                "depends_on": ["extract"],
            },
            {
                "name": "notify",
                "type": "shell",
                "command": f"echo notify $TICKWORK_RUN_ID >> {marks}",
                "depends_on": [{"job": "extract", "on": "failure"}],
            },
        ],
    }


def wait_run(tw: Cluster, run_id: str, *statuses: str) -> dict[str, Any]:
    return wait_until(
        lambda: (
            (r := tw.http.get(f"/api/pipeline-runs/{run_id}").json())["status"] in statuses and r
        ),
        timeout=30,
        what=f"pipeline run {run_id} to be {statuses}",
    )


def test_a_failing_task_its_handler_and_a_retry(tw: Cluster, tmp_path: Path) -> None:
    flag, marks = tmp_path / "fixed", tmp_path / "marks"
    tw.start_worker()
    made = tw.http.post("/api/pipelines", json=pipeline(flag, marks))
    assert made.status_code == 201, made.text
    started = tw.http.post("/api/pipelines/etl/trigger")
    assert started.status_code == 201, started.text
    run_id = started.json()["id"]
    ended = wait_run(tw, run_id, "completed", "failed", "cancelled")
    tasks = {t["name"]: t for t in ended["tasks"]}
    assert ended["status"] == "failed", ended
    assert tasks["extract"]["status"] == "failed"
    assert tasks["load"]["status"] == "skipped"
    assert tasks["load"]["reason"] == "upstream failed: extract"
    assert tasks["notify"]["status"] == "completed"
    assert marks.read_text().splitlines() == ["extract", f"notify {tasks['notify']['run_id']}"]
    notify = tw.run(tasks["notify"]["run_id"])
    assert notify["pipeline_run_id"] == run_id
    assert notify["upstream_run_ids"] == [tasks["extract"]["run_id"]]

    flag.touch()  # the cause fixed: the retry runs extract again, then load
    assert tw.http.post(f"/api/pipeline-runs/{run_id}/retry").status_code == 200
    done = wait_run(tw, run_id, "completed", "failed")
    assert done["status"] == "completed", done
    tasks = {t["name"]: t for t in done["tasks"]}
    assert [tasks[n]["status"] for n in ("extract", "load", "notify")] == [
        "completed",
        "completed",
        "completed",
    ]
    assert len(tasks["extract"]["runs"]) == 2
    assert tw.run(tasks["load"]["run_id"])["result"] == {"greeting": "hello load"}
    assert marks.read_text().count("extract") == 2


def test_trigger_follow_watches_to_the_end(tw: Cluster, tmp_path: Path) -> None:
    flag, marks = tmp_path / "fixed", tmp_path / "marks"
    flag.touch()
    tw.start_worker()
    assert tw.http.post("/api/pipelines", json=pipeline(flag, marks)).status_code == 201
    done = subprocess.run(
        [sys.executable, "-m", "tickwork.cli.main", "pipelines", "trigger", "etl", "--follow"],
        env={**base_env(), "TICKWORK_SERVER": tw.url, "COLUMNS": "200"},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "completed" in done.stderr
    assert "notify               skipped  upstream succeeded: extract" in done.stderr


def test_the_example_pipeline_runs_to_completion(tw: Cluster) -> None:
    """examples/pipeline.yaml as `make run` runs it: its python tasks imported from the
    repository root, its on-failure handler skipped by design."""
    root = Path(__file__).resolve().parents[2]
    doc = yaml.safe_load((root / "examples" / "pipeline.yaml").read_text())
    tw.start_worker(extra=("--path", str(root)))
    made = tw.http.post("/api/pipelines", json=doc["pipelines"][0])
    assert made.status_code == 201, made.text
    run_id = tw.http.post("/api/pipelines/nightly-etl/trigger").json()["id"]
    done = wait_run(tw, run_id, "completed", "failed", "cancelled")
    assert done["status"] == "completed", done
    states = {t["name"]: t["status"] for t in done["tasks"]}
    assert states == {
        "prepare": "completed",
        "extract": "completed",
        "transform": "completed",
        "load": "completed",
        "report": "completed",
        "notify-failure": "skipped",
    }
    load = next(t for t in done["tasks"] if t["name"] == "load")
    assert tw.run(load["run_id"])["result"] == "analytics.daily_orders"
