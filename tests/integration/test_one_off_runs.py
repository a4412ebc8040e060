"""A one-off run on a real worker (PostgreSQL, Redis): submitted with `POST /api/runs`, its
shell command fails once and succeeds on its retry, with its environment's secret filled in
and masked; the hidden definition never shows up among the jobs."""

from __future__ import annotations

from pathlib import Path

from .harness import Cluster

SECRET = "one-off-s3cr3t-77"


def test_a_submitted_shell_run_retries_and_completes(tw: Cluster, tmp_path: Path) -> None:
    tw.start_worker(env={"TW_ONE_OFF_SECRET": SECRET, "TICKWORK_SECRETS": "TW_ONE_OFF_SECRET"})
    marker = tmp_path / "tried"
    command = (
        f'echo "attempt $TICKWORK_ATTEMPT $TOKEN"; '
        f"if [ ! -e {marker} ]; then touch {marker}; exit 5; fi"
    )
    made = tw.http.post(
        "/api/runs",
        json={
            "type": "shell",
            "command": command,
            "env": {"TOKEN": {"$secret": "TW_ONE_OFF_SECRET"}},
            "retries": 2,
            "retry_delay": 0.2,
            "name": "flaky-once",
        },
    )
    assert made.status_code == 201, made.text
    run_id = made.json()["id"]
    run = tw.wait_status(run_id, "completed", "failed", timeout=30)
    assert run["status"] == "completed", run["error"]
    assert (run["one_off"], run["job_name"], run["attempt"]) == (True, "flaky-once", 2)
    assert [a["exit_code"] for a in run["attempts"]] == [5, 0]
    assert run["attempts"][0]["stdout"] == "attempt 1 ***\n"  # filled in, then masked
    assert run["output"] == "attempt 2 ***\n"
    assert SECRET not in str(run)
    assert run["spec"]["env"] == {"TOKEN": {"$secret": "TW_ONE_OFF_SECRET"}}
    assert tw.http.get("/api/jobs").json()["total"] == 0
    listed = tw.http.get("/api/runs").json()["runs"]
    assert [(r["id"], r["one_off"]) for r in listed] == [(run_id, True)]
