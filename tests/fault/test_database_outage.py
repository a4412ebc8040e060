"""A PostgreSQL outage under a running coordinator and worker: the API answers 503 with
Retry-After, the worker backs off and carries on, and the run it was executing completes
once the database is back, with one recorded outcome.

The outage is this test's database refusing connections (its backends terminated), not a
restart of the shared server: other sessions on this machine use the same PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import refusing_connections
from tests.integration.conftest import FAST
from tests.integration.harness import cluster, wait_until

# Leases long enough that a few seconds without heartbeats is no reason to give the run to
# someone else: what is under test is riding out the outage, not lease expiry.
SETTINGS = {**FAST, "lease_seconds": 30, "worker_lost_after": 30, "ack_timeout": 10}


def test_worker_rides_out_a_database_outage(
    pg_database: str, redis_url: str, redis_prefix: str, tmp_path: Path
) -> None:
    with cluster(pg_database, redis_url, redis_prefix, **SETTINGS) as tw:
        worker = tw.start_worker()
        gate, marks = tmp_path / "gate", tmp_path / "marks"
        marks.mkdir()
        tw.create_job(
            name="through",
            type="python",
            function="itjobs.gated_record",
            parameters={"marker_dir": str(marks), "gate": str(gate)},
        )
        run_id = tw.trigger("through")
        # started: executing, and its start recorded (a claim runs at once, and the worker
        # confirms the start with a later report; a run whose start the coordinator never
        # recorded may run again elsewhere once its ack deadline passes)
        wait_until(lambda: tw.run(run_id)["started_at"] is not None, what="the run to start")

        with refusing_connections(pg_database):
            during = tw.http.get(f"/api/runs/{run_id}")
            assert during.status_code == 503, during.text
            assert 1 <= int(during.headers["Retry-After"]) <= 5
            assert during.json()["error"]["code"] == "unavailable"
            assert "Traceback" not in during.text
            trigger = tw.http.post("/api/jobs/through/trigger")
            assert trigger.status_code == 503, trigger.text
            assert tw.http.get("/api/health").json()["status"] == "degraded"
            gate.touch()  # the run finishes while the database is away
            wait_until(
                lambda: any("report of" in line and "503" in line for line in worker.lines),
                what="the worker's completion to meet the outage",
            )
        assert worker.popen.poll() is None, worker.output()

        run = tw.wait_status(run_id, "completed", "failed", timeout=60)
        assert [(a["status"], a["error"]) for a in run["attempts"]] == [("completed", None)]
        assert run["result"] == "released"
        assert len(list(marks.iterdir())) == 1
        # and the worker carries on with new work
        second = tw.trigger("through")
        assert tw.wait_status(second, "completed", "failed", timeout=60)["status"] == "completed"
        assert worker.popen.poll() is None
        for proc in tw.coordinators:
            assert "Traceback" not in proc.output(), proc.output()[-3000:]
