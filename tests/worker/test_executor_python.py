from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest
from executor_helpers import JOBS_DIR, MakeExecutors, Output, make_request, wait_until

from tickwork.worker.executors import Executors
from tickwork.worker.executors.process import group_alive, pid_running
from tickwork.worker.executors.zygote import ZygoteError


async def test_return_value_and_parameters(executors: Executors, output: Output) -> None:
    req = make_request("python", function="jobs_fixture.add", parameters={"a": 2, "b": 40})

    result = await executors.execute(req, output)

    assert result.status == "completed"
    assert result.exit_code == 0
    assert result.result == 42


async def test_ctx_is_passed_when_the_signature_asks_for_it(
    executors: Executors, output: Output
) -> None:
    req = make_request(
        "python",
        function="jobs_fixture.with_ctx",
        parameters={"x": 5},
        attempt=3,
        fence=99,
        env={"REGION": "eu"},
        upstream=({"run_id": "run-up", "job": "extract", "status": "failed", "error": "boom"},),
    )

    result = await executors.execute(req, output)

    assert result.status == "completed", result.error
    assert result.result == {
        "type": "RunContext",
        "run_id": req.run_id,
        "attempt": 3,
        "fence": 99,
        "idempotency_key": req.idempotency_key,
        "parameters": {"x": 5},
        "env": {"REGION": "eu"},
        "upstream": [{"run_id": "run-up", "job": "extract", "status": "failed", "error": "boom"}],
        "x": 5,
    }


async def test_ctx_is_not_passed_through_var_kwargs(executors: Executors, output: Output) -> None:
    req = make_request("python", function="jobs_fixture.accepts_kwargs", parameters={"a": 1})

    result = await executors.execute(req, output)

    assert result.result == ["a"]


async def test_exception_fails_with_its_traceback(executors: Executors, output: Output) -> None:
    result = await executors.execute(make_request("python", function="jobs_fixture.boom"), output)

    assert result.status == "failed"
    assert result.exit_code == 1
    assert result.error is not None
    assert result.error.startswith("Traceback (most recent call last):")
    assert "jobs_fixture.py" in result.error
    assert result.error.endswith("ValueError: boom from the job")
    assert "child.py" not in result.error


async def test_non_json_return_value_fails(executors: Executors, output: Output) -> None:
    req = make_request("python", function="jobs_fixture.returns_set")

    result = await executors.execute(req, output)

    assert result.status == "failed"
    assert result.error is not None
    assert "jobs_fixture.returns_set is not JSON-serialisable" in result.error
    assert "set" in result.error


@pytest.mark.parametrize(
    ("function", "expected"),
    [
        ("no_such_module.func", "ModuleNotFoundError: No module named 'no_such_module'"),
        ("jobs_fixture.no_such_function", "AttributeError"),
        ("nodots", "is not of the form 'package.module.function'"),
    ],
)
async def test_import_errors_fail_clearly(
    executors: Executors, output: Output, function: str, expected: str
) -> None:
    result = await executors.execute(make_request("python", function=function), output)

    assert result.status == "failed"
    assert result.error is not None
    assert result.error.startswith(f"cannot import {function!r}")
    assert expected in result.error


async def test_async_function_is_run(executors: Executors, output: Output) -> None:
    req = make_request("python", function="jobs_fixture.async_double", parameters={"x": 21})

    result = await executors.execute(req, output)

    assert result.result == 42


async def test_all_output_arrives_before_execute_returns(
    executors: Executors, output: Output
) -> None:
    tail = 300_000  # more than a pipe holds: written just before the function returns
    req = make_request(
        "python", function="jobs_fixture.chatty", parameters={"lines": 3, "tail_bytes": tail}
    )

    result = await executors.execute(req, output)

    assert result.status == "completed", result.error
    stdout = output.text("stdout")
    assert stdout.startswith("line 0\nline 1\nline 2\n")
    assert "raw fd write\n" in stdout
    assert "from a subprocess\n" in stdout
    assert stdout.endswith("x" * tail)
    assert output.text("stderr") == "to stderr\n"


async def test_output_of_one_run_does_not_leak_into_the_next(
    make_executors: MakeExecutors, output: Output
) -> None:
    executors = await make_executors(pool_size=1)
    await executors.execute(
        make_request("python", function="jobs_fixture.chatty", parameters={"lines": 1}), Output()
    )

    await executors.execute(make_request("python", function="jobs_fixture.noop"), output)

    assert output.chunks == []


async def test_output_is_streamed_while_the_function_runs(
    executors: Executors, output: Output, tmp_path: Path
) -> None:
    flag = tmp_path / "flag"
    req = make_request("python", function="jobs_fixture.stream", parameters={"flag": str(flag)})
    running = asyncio.create_task(executors.execute(req, output))

    await output.wait_for("started\n")
    assert not running.done()
    flag.touch()
    result = await running

    assert result.result == "ok"
    assert output.text() == "started\nfinished\n"


async def test_timeout_kills_the_child_group_and_the_pool_refills(
    executors: Executors, output: Output, tmp_path: Path
) -> None:
    pid_file = tmp_path / "pids"
    req = make_request(
        "python",
        function="jobs_fixture.hang_ignoring_term",
        parameters={"pid_file": str(pid_file)},
        timeout=0.5,
    )

    result = await executors.execute(req, output)

    assert result.status == "timed_out"
    assert result.error == "timed out after 0.5s"
    assert output.text() == "hanging\n"
    child_pid, grandchild_pid = map(int, pid_file.read_text().split())
    assert not pid_running(child_pid)
    assert not pid_running(grandchild_pid)
    assert not group_alive(child_pid)
    pool = executors.python.pool
    await wait_until(lambda: len(pool.pids) == 2 and child_pid not in pool.pids)
    again = await executors.execute(make_request("python", function="jobs_fixture.noop"), output)
    assert again.status == "completed"


async def test_children_are_recycled_after_max_runs(make_executors: MakeExecutors) -> None:
    executors = await make_executors(pool_size=1, max_runs_per_child=2)

    pids = []
    for _ in range(5):
        result = await executors.execute(
            make_request("python", function="jobs_fixture.pid"), Output()
        )
        pids.append(result.result)

    assert pids[0] == pids[1] != pids[2] == pids[3] != pids[4]
    assert not pid_running(pids[0])


async def test_pool_children_are_preforked_in_their_own_sessions(executors: Executors) -> None:
    pids = executors.python.pool.pids

    assert len(pids) == 2
    assert all(os.getsid(pid) == pid for pid in pids)
    assert os.getpid() not in pids


async def test_process_isolation_uses_a_fresh_child(executors: Executors) -> None:
    pool_pids = executors.python.pool.pids

    first = await executors.execute(
        make_request("python", function="jobs_fixture.pid", isolation="process"), Output()
    )
    second = await executors.execute(
        make_request("python", function="jobs_fixture.pid", isolation="process"), Output()
    )

    assert first.status == second.status == "completed"
    assert first.result != second.result
    assert {first.result, second.result}.isdisjoint(pool_pids)
    assert executors.python.pool.pids == pool_pids
    await wait_until(lambda: not pid_running(first.result) and not pid_running(second.result))


async def test_preloaded_modules_are_imported_once_in_the_zygote(
    make_executors: MakeExecutors,
) -> None:
    executors = await make_executors(preload=["jobs_fixture"])

    result = await executors.execute(
        make_request("python", function="jobs_fixture.imported_in_pid"), Output()
    )

    assert result.result == executors.python.zygote.pid


async def test_a_preload_that_fails_to_import_stops_start(make_executors: MakeExecutors) -> None:
    with pytest.raises(ZygoteError, match="no_such_preload"):
        await make_executors(preload=["no_such_preload"])


@pytest.mark.parametrize(
    ("function", "parameters", "exit_code", "how"),
    [
        ("jobs_fixture.exit_hard", {"code": 3}, 3, "exit code 3"),
        ("jobs_fixture.segfault", {}, -signal.SIGSEGV, "killed by signal SIGSEGV"),
    ],
)
async def test_a_child_that_dies_fails_the_run_and_is_replaced(
    executors: Executors,
    output: Output,
    function: str,
    parameters: dict[str, int],
    exit_code: int,
    how: str,
) -> None:
    before = executors.python.pool.pids

    result = await executors.execute(
        make_request("python", function=function, parameters=parameters), output
    )

    assert result.status == "failed"
    assert result.exit_code == exit_code
    assert result.error == f"the python child process died during the run ({how})"
    pool = executors.python.pool
    await wait_until(lambda: len(pool.pids) == 2 and pool.pids != before)
    again = await executors.execute(
        make_request("python", function="jobs_fixture.add", parameters={"a": 1, "b": 1}), output
    )
    assert again.result == 2


async def test_cancel_kills_the_child(executors: Executors, output: Output, tmp_path: Path) -> None:
    pid_file = tmp_path / "pids"
    req = make_request(
        "python", function="jobs_fixture.hang_ignoring_term", parameters={"pid_file": str(pid_file)}
    )
    running = asyncio.create_task(executors.execute(req, output))
    await output.wait_for("hanging")

    assert await executors.cancel(req.run_id) is True
    result = await running

    assert result.status == "cancelled"
    child_pid, grandchild_pid = map(int, pid_file.read_text().split())
    assert not pid_running(child_pid)
    assert not pid_running(grandchild_pid)


async def test_stop_kills_running_children_and_the_zygote(
    make_executors: MakeExecutors, output: Output, tmp_path: Path
) -> None:
    executors = await make_executors(grace_period=30)
    pid_file = tmp_path / "pids"
    req = make_request(
        "python", function="jobs_fixture.hang_ignoring_term", parameters={"pid_file": str(pid_file)}
    )
    running = asyncio.create_task(executors.execute(req, output))
    await output.wait_for("hanging")
    pool_pids = executors.python.pool.pids
    zygote_pid = executors.python.zygote.pid
    assert zygote_pid is not None

    await asyncio.wait_for(executors.stop(), timeout=10)

    assert (await running).status == "cancelled"
    child_pid, grandchild_pid = map(int, pid_file.read_text().split())
    for pid in (*pool_pids, zygote_pid, child_pid, grandchild_pid):
        assert not pid_running(pid)


async def test_parameters_that_are_not_json_fail(executors: Executors, output: Output) -> None:
    req = make_request("python", function="jobs_fixture.add", parameters={"a": {1}, "b": 2})

    result = await executors.execute(req, output)

    assert result.status == "failed"
    assert result.error is not None
    assert "parameters are not JSON-serialisable" in result.error


async def test_a_child_over_the_memory_cap_is_replaced(make_executors: MakeExecutors) -> None:
    roomy = await make_executors(pool_size=1, max_memory_per_child=100 * 1024 * 1024)
    tight = await make_executors(pool_size=1, max_memory_per_child=1)  # every child is over it

    async def pids(executors: Executors) -> list[int]:
        request = make_request("python", function="jobs_fixture.pid")
        return [(await executors.execute(request, Output())).result for _ in range(3)]

    assert len(set(await pids(roomy))) == 1
    assert len(set(await pids(tight))) == 3


async def test_cancelling_execute_itself_kills_the_child(
    executors: Executors, output: Output, tmp_path: Path
) -> None:
    pid_file = tmp_path / "pids"
    req = make_request(
        "python", function="jobs_fixture.hang_ignoring_term", parameters={"pid_file": str(pid_file)}
    )
    running = asyncio.create_task(executors.execute(req, output))
    await output.wait_for("hanging")

    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running

    child_pid, grandchild_pid = map(int, pid_file.read_text().split())
    await wait_until(lambda: not pid_running(child_pid) and not pid_running(grandchild_pid))
    assert executors.active_runs == []


async def test_the_pool_survives_a_killed_zygote(executors: Executors, output: Output) -> None:
    zygote_pid = executors.python.zygote.pid
    assert zygote_pid is not None
    os.kill(zygote_pid, signal.SIGKILL)
    await wait_until(lambda: not executors.python.zygote.running)
    # A child that dies now must be replaced by a new zygote's fork.
    died = await executors.execute(
        make_request("python", function="jobs_fixture.exit_hard", parameters={"code": 1}), output
    )
    assert died.status == "failed"

    results = [
        await executors.execute(make_request("python", function="jobs_fixture.pid"), output)
        for _ in range(3)
    ]

    assert all(result.status == "completed" for result in results)
    assert executors.python.zygote.pid not in (None, zygote_pid)


async def test_executors_can_start_again_after_stop(executors: Executors, output: Output) -> None:
    await executors.stop()
    await executors.start()

    result = await executors.execute(make_request("python", function="jobs_fixture.noop"), output)

    assert result.status == "completed"


async def test_a_killed_worker_leaves_no_python_child_behind(tmp_path: Path) -> None:
    pid_file = tmp_path / "pids"
    script = f"""
import asyncio
from tickwork.worker.executors import Executors, ExecutionRequest

async def main():
    executors = Executors(pool_size=1, import_paths=[{str(JOBS_DIR)!r}])
    await executors.start()
    request = ExecutionRequest(
        "run-1", 1, 1, "key", "python", function="jobs_fixture.hang_ignoring_term",
        parameters={{"pid_file": {str(pid_file)!r}}},
    )
    await executors.execute(request, lambda stream, text: None)

asyncio.run(main())
"""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    worker = await asyncio.create_subprocess_exec(sys.executable, "-c", script, env=env)
    try:
        await wait_until(lambda: pid_file.exists() and len(pid_file.read_text().split()) == 2)
    finally:
        worker.kill()  # SIGKILL: no cleanup code of the worker runs
        await worker.wait()

    child_pid, grandchild_pid = map(int, pid_file.read_text().split())
    # The zygote sees its socket close and kills every child's process group.
    await wait_until(lambda: not pid_running(child_pid) and not pid_running(grandchild_pid))
