"""Trigger rules on a real worker: a failure fires its on-failure dependents, and their code
gets the upstream runs with their errors (TICKWORK_UPSTREAM in a shell job's environment,
ctx.upstream in a python job)."""

from __future__ import annotations

import json

from .harness import Cluster, wait_until


def test_a_failure_hands_its_error_to_shell_and_python_dependents(tw: Cluster) -> None:
    tw.start_worker()
    tw.create_job(name="ingest", type="python", function="itjobs.boom", retries=0)
    tw.create_job(
        name="notify-shell",
        type="shell",
        command='printf "%s" "$TICKWORK_UPSTREAM"',
        depends_on=[{"job": "ingest", "on": "failure"}],
    )
    tw.create_job(
        name="notify-python",
        type="python",
        function="itjobs.upstream_seen",
        depends_on=[{"job": "ingest", "on": "failure"}],
    )
    tw.create_job(name="publish", type="shell", command="true", depends_on=["ingest"])
    failed = tw.wait_status(tw.trigger("ingest"), "failed", timeout=30)
    assert "this job always fails" in failed["error"]

    def fired(name: str) -> dict[str, object]:
        runs = wait_until(
            lambda: tw.http.get("/api/runs", params={"job": name}).json()["runs"],
            what=f"a run of {name}",
        )
        return tw.wait_status(runs[0]["id"], "completed", timeout=30)

    shell = fired("notify-shell")
    [seen] = json.loads(str(shell["output"]))
    assert seen["run_id"] == failed["id"] and seen["job"] == "ingest"
    assert seen["status"] == "failed" and "this job always fails" in seen["error"]
    python = fired("notify-python")
    [given] = python["result"]  # type: ignore[misc]
    assert given["run_id"] == failed["id"] and given["status"] == "failed"
    assert "RuntimeError: this job always fails" in given["error"]
    assert given["error_summary"] == failed["error_summary"]
    # on success only: the failure fired nothing there
    assert tw.http.get("/api/runs", params={"job": "publish"}).json()["runs"] == []
