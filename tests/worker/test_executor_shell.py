from __future__ import annotations

import asyncio
import json
import os
import signal
from pathlib import Path

import pytest
from executor_helpers import Output, make_request, wait_until

from tickwork.worker.executors import Executors
from tickwork.worker.executors.process import group_alive, pid_running


async def test_success_streams_stdout_and_stderr(executors: Executors, output: Output) -> None:
    req = make_request("shell", command="echo hello; echo oops >&2")

    result = await executors.execute(req, output)

    assert result.status == "completed"
    assert result.exit_code == 0
    assert result.error is None
    assert output.text("stdout") == "hello\n"
    assert output.text("stderr") == "oops\n"


async def test_nonzero_exit_fails_with_the_code(executors: Executors, output: Output) -> None:
    result = await executors.execute(make_request("shell", command="echo partial; exit 3"), output)

    assert result.status == "failed"
    assert result.exit_code == 3
    assert result.error == "exit code 3"
    assert output.text() == "partial\n"


async def test_killed_by_a_signal_is_named(executors: Executors, output: Output) -> None:
    result = await executors.execute(make_request("shell", command="kill -SEGV $$"), output)

    assert result.status == "failed"
    assert result.exit_code == -signal.SIGSEGV
    assert result.error == "killed by signal SIGSEGV"


async def test_environment_carries_the_run_identity(executors: Executors, output: Output) -> None:
    req = make_request(
        "shell",
        command=(
            'printf "%s|%s|%s|%s|%s|%s|%s" "$TICKWORK_RUN_ID" "$TICKWORK_ATTEMPT" "$TICKWORK_FENCE"'
            ' "$TICKWORK_IDEMPOTENCY_KEY" "$EXTRA" "$TICKWORK_PARAMETERS" "${HOME:+home}"'
        ),
        attempt=2,
        fence=41,
        parameters={"day": "2024-01-01", "n": 3},
        env={"EXTRA": "extra value"},
    )

    result = await executors.execute(req, output)

    assert result.status == "completed"
    run_id, attempt, fence, key, extra, params, home = output.text().split("|")
    assert (run_id, attempt, fence, key) == (req.run_id, "2", "41", req.idempotency_key)
    assert extra == "extra value"
    assert json.loads(params) == {"day": "2024-01-01", "n": 3}
    assert home == ("home" if "HOME" in os.environ else "")  # the worker's environment is kept


async def test_output_is_streamed_while_the_command_runs(
    executors: Executors, output: Output, tmp_path: Path
) -> None:
    flag = tmp_path / "flag"
    # The command only finishes once the test saw its first line: proof that output is streamed.
    command = f'echo started; while [ ! -e "{flag}" ]; do sleep 0.01; done; echo finished'
    running = asyncio.create_task(executors.execute(make_request("shell", command=command), output))

    await output.wait_for("started\n")
    assert not running.done()
    flag.touch()
    result = await running

    assert result.status == "completed"
    assert output.text() == "started\nfinished\n"


async def test_invalid_utf8_is_replaced(executors: Executors, output: Output) -> None:
    result = await executors.execute(make_request("shell", command=r"printf 'a\377b'"), output)

    assert result.status == "completed"
    assert output.text() == "a\ufffdb"


async def test_timeout_kills_the_whole_group_leaving_no_orphan(
    executors: Executors, output: Output, tmp_path: Path
) -> None:
    pids = tmp_path / "pids"
    # The shell and its background grandchild both ignore SIGTERM: only the SIGKILL after the
    # grace period can stop them.
    command = f"trap '' TERM; sleep 999 & echo $$ $! > {pids}; echo ready; wait; wait"
    req = make_request("shell", command=command, timeout=0.5)

    result = await executors.execute(req, output)

    assert result.status == "timed_out"
    assert result.exit_code is None
    assert result.error == "timed out after 0.5s"
    assert output.text() == "ready\n"
    shell_pid, grandchild_pid = map(int, pids.read_text().split())
    assert not pid_running(shell_pid)
    assert not pid_running(grandchild_pid)
    assert not group_alive(shell_pid)


async def test_background_processes_left_after_exit_are_killed(
    executors: Executors, output: Output, tmp_path: Path
) -> None:
    pids = tmp_path / "pids"
    req = make_request("shell", command=f"sleep 999 & echo $$ $! > {pids}; exit 0")

    result = await executors.execute(req, output)

    assert result.status == "completed"
    shell_pid, grandchild_pid = map(int, pids.read_text().split())
    assert not pid_running(grandchild_pid)
    assert not group_alive(shell_pid)


async def test_does_not_wait_for_pipes_held_by_an_escaped_process(
    executors: Executors, output: Output, tmp_path: Path
) -> None:
    pid_file = tmp_path / "pid"
    # setsid puts the sleeper outside the run's group; it keeps stdout open for a minute.
    req = make_request("shell", command=f"setsid sleep 60 & echo $! > {pid_file}; echo bye")
    try:
        result = await asyncio.wait_for(executors.execute(req, output), timeout=10)
    finally:
        escaped = int(pid_file.read_text())
        os.kill(escaped, signal.SIGKILL)

    assert result.status == "completed"
    assert output.text() == "bye\n"


async def test_cancel_stops_the_run(executors: Executors, output: Output, tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    req = make_request("shell", command=f"sleep 999 & echo $$ $! > {pids}; echo started; wait")
    running = asyncio.create_task(executors.execute(req, output))
    await output.wait_for("started")

    assert await executors.cancel(req.run_id) is True
    result = await running

    assert result.status == "cancelled"
    assert result.exit_code is None
    shell_pid, grandchild_pid = map(int, pids.read_text().split())
    assert not pid_running(shell_pid)
    assert not pid_running(grandchild_pid)
    assert executors.active_runs == []


async def test_cancel_of_an_unknown_run_is_false(executors: Executors) -> None:
    assert await executors.cancel("no-such-run") is False


async def test_missing_command_fails(executors: Executors, output: Output) -> None:
    result = await executors.execute(make_request("shell", command=None), output)

    assert result.status == "failed"
    assert result.error == "shell job has no command"


async def test_cancelling_execute_itself_kills_the_group(
    executors: Executors, output: Output, tmp_path: Path
) -> None:
    pids = tmp_path / "pids"
    command = f"trap '' TERM; sleep 999 & echo $$ $! > {pids}; echo started; wait"
    running = asyncio.create_task(executors.execute(make_request("shell", command=command), output))
    await output.wait_for("started")

    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running

    shell_pid, grandchild_pid = map(int, pids.read_text().split())
    await wait_until(lambda: not pid_running(shell_pid) and not pid_running(grandchild_pid))


async def test_an_argv_runs_without_a_shell_in_its_directory(
    executors: Executors, output: Output, tmp_path: Path
) -> None:
    """A list is an argv: no word splitting, globbing or expansion of its items; ``cwd``
    is entered first; a missing program is the shell's 127, a missing directory 126."""
    (tmp_path / "here.txt").write_text("x")
    req = make_request("shell", command=["printf", "%s|", "$HOME", "a b", "*"], cwd=str(tmp_path))
    result = await executors.execute(req, output)
    assert result.status == "completed", result.error
    assert output.text("stdout") == "$HOME|a b|*|"
    listed = Output()
    result = await executors.execute(
        make_request("shell", command=["ls"], cwd=str(tmp_path)), listed
    )
    assert result.status == "completed" and listed.text("stdout") == "here.txt\n"
    in_dir = Output()
    req = make_request("shell", command="pwd; echo $((1 + 2))", cwd=str(tmp_path))
    result = await executors.execute(req, in_dir)
    assert in_dir.text("stdout") == f"{tmp_path}\n3\n"
    missing = await executors.execute(
        make_request("shell", command=["no-such-program-x"]), Output()
    )
    assert (missing.status, missing.exit_code) == ("failed", 127)
    nowhere = await executors.execute(
        make_request("shell", command=["true"], cwd=str(tmp_path / "gone")), Output()
    )
    assert (nowhere.status, nowhere.exit_code) == ("failed", 126)
