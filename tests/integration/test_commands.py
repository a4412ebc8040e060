"""Shell jobs as argv lists, in a directory, with their own environment (secrets included),
on a real worker: what the job sees, and what a reader of the run never does."""

from __future__ import annotations

from pathlib import Path

from .harness import Cluster

SECRET = "argv-s3cr3t-41d7"


def test_an_argv_job_runs_in_its_directory_with_its_environment(
    tw: Cluster, tmp_path: Path
) -> None:
    (tmp_path / "data.txt").write_text("x")
    tw.start_worker(env={"TW_ARGV_SECRET": SECRET, "TICKWORK_SECRETS": "TW_ARGV_SECRET"})
    tw.create_job(
        name="argv",
        type="shell",
        command=["/bin/sh", "-c", 'ls; printf "%s %s\\n" "$GREETING" "$TOKEN"', "ignored"],
        cwd=str(tmp_path),
        env={"GREETING": "hello there", "TOKEN": {"$secret": "TW_ARGV_SECRET"}},
        on_overlap="queue",
    )
    job = tw.http.get("/api/jobs/argv").json()
    assert job["command"][0] == "/bin/sh" and job["cwd"] == str(tmp_path)
    assert job["env"]["TOKEN"] == {"$secret": "TW_ARGV_SECRET"}  # the reference, never the value
    run = tw.wait_status(tw.trigger("argv"), "completed", "failed", timeout=30)
    assert run["status"] == "completed", run["error"]
    assert run["output"] == "data.txt\nhello there ***\n"  # the secret filled in, then masked
    tw.create_job(name="no-such", type="shell", command=["no-such-program-9x"], retries=0)
    failed = tw.wait_status(tw.trigger("no-such"), "completed", "failed", timeout=30)
    assert failed["status"] == "failed" and failed["exit_code"] == 127
