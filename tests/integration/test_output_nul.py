"""A job's output may hold NUL: on PostgreSQL it is kept, with U+FFFD in its place, and the
run's outcome is recorded (refusing the report would lose both)."""

from __future__ import annotations

from tests.integration.harness import Cluster


def test_nul_in_output_and_result_is_kept_with_a_replacement_character(tw: Cluster) -> None:
    tw.start_worker()
    tw.create_job(
        name="nul-shell", type="shell", command="printf 'a\\000b\\n'; printf 'e\\000\\n' >&2"
    )
    tw.create_job(name="nul-python", type="python", function="itjobs.nul_output")
    shell = tw.wait_status(tw.trigger("nul-shell"), "completed", "failed")
    assert shell["status"] == "completed", shell
    assert shell["output"] == "a\ufffdb\n"
    logs = tw.http.get(f"/api/runs/{shell['id']}/logs").json()
    assert logs["stderr"] == "e\ufffd\n"
    python = tw.wait_status(tw.trigger("nul-python"), "completed", "failed")
    assert python["status"] == "completed", python
    assert python["result"] == {"key\ufffd": "value\ufffd"}
    assert "before\ufffdafter" in python["output"]
