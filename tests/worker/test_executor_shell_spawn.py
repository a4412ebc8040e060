"""Shell runs are started by the zygote: what they inherit, failing to spawn, losing the zygote."""

from __future__ import annotations

import asyncio
import os
import signal
import uuid
from pathlib import Path

from executor_helpers import Output, make_request, wait_until

from tickwork.worker.executors import Executors
from tickwork.worker.executors.process import pid_running


def running_with_argument(token: str) -> list[int]:
    """Pids of live (non-zombie) processes with ``token`` in their command line."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if token.encode() in (entry / "cmdline").read_bytes() and pid_running(int(entry.name)):
                found.append(int(entry.name))
        except (OSError, ValueError):
            continue
    return found


async def test_the_shell_inherits_stdio_only(executors: Executors, output: Output) -> None:
    command = 'for fd in /proc/$$/fd/*; do echo "${fd##*/} $(readlink "$fd")"; done'

    result = await executors.execute(make_request("shell", command=command), output)

    assert result.status == "completed"
    fds = dict(line.split(" ", 1) for line in output.text().splitlines())
    # 3 is the pipe of the $(readlink) being run: the shell's, not inherited.
    assert sorted(fds) in (["0", "1", "2"], ["0", "1", "2", "3"])
    assert fds["0"] == "/dev/null"
    assert fds["1"].startswith("pipe:")
    assert fds["2"].startswith("pipe:")


async def test_signals_the_zygote_ignores_are_not_ignored_by_the_shell(
    executors: Executors, output: Output
) -> None:
    result = await executors.execute(
        make_request("shell", command="grep SigIgn /proc/$$/status"), output
    )

    ignored = int(output.text().split()[1], 16)
    assert result.status == "completed"
    for sig in (signal.SIGINT, signal.SIGPIPE, signal.SIGXFSZ):
        assert not ignored & (1 << (sig - 1)), sig.name


async def test_a_large_environment_is_passed_whole(executors: Executors, output: Output) -> None:
    env = {f"BIG_{i}": str(i) * 100_000 for i in range(10)}  # 1 MB: more than a datagram holds

    result = await executors.execute(
        make_request("shell", command='echo "${#BIG_9} $BIG_3" | cut -c1-9', env=env), output
    )

    assert result.status == "completed"
    assert output.text() == "100000 33\n"


async def test_a_spawn_failure_fails_the_run_and_spares_the_zygote(
    executors: Executors, output: Output
) -> None:
    zygote_pid = executors.python.zygote.pid
    too_long = make_request("shell", command="true", env={"HUGE": "x" * 200_000})
    nul = make_request("shell", command="echo a\0b")

    results = [await executors.execute(req, output) for req in (too_long, nul)]

    assert [result.status for result in results] == ["failed", "failed"]
    assert results[0].error == (
        "executor error: OSError: [Errno 7] Argument list too long: '/bin/sh'"
    )
    assert results[1].error == "executor error: ValueError: embedded null byte"
    ok = await executors.execute(make_request("shell", command="echo fine"), output)
    assert ok.status == "completed"
    assert output.text() == "fine\n"
    assert executors.python.zygote.pid == zygote_pid


async def test_concurrent_runs_keep_their_own_output_and_exit_code(executors: Executors) -> None:
    requests = [
        make_request("shell", command=f'echo "$TICKWORK_RUN_ID"; exit {i % 4}') for i in range(40)
    ]
    outputs = [Output() for _ in requests]

    results = await asyncio.gather(
        *(executors.execute(req, out) for req, out in zip(requests, outputs, strict=True))
    )

    assert [result.exit_code for result in results] == [i % 4 for i in range(40)]
    assert [out.text() for out in outputs] == [f"{req.run_id}\n" for req in requests]


async def test_a_lost_zygote_stops_the_shell_and_fails_the_run(
    executors: Executors, output: Output, tmp_path: Path
) -> None:
    pids = tmp_path / "pids"
    req = make_request("shell", command=f"sleep 300 & echo $$ $! > {pids}; echo started; wait")
    running = asyncio.create_task(executors.execute(req, output))
    await output.wait_for("started")
    zygote_pid = executors.python.zygote.pid
    assert zygote_pid is not None

    os.kill(zygote_pid, signal.SIGKILL)
    result = await asyncio.wait_for(running, 10)

    assert result.status == "failed"
    assert result.exit_code is None
    assert result.error is not None
    assert "zygote" in result.error
    shell_pid, grandchild_pid = map(int, pids.read_text().split())
    assert not pid_running(shell_pid)
    assert not pid_running(grandchild_pid)
    again = await executors.execute(make_request("shell", command="exit 0"), output)
    assert again.status == "completed"  # on a new zygote
    assert executors.python.zygote.pid != zygote_pid


async def test_cancelled_while_being_spawned_leaves_nothing_behind(
    executors: Executors, output: Output
) -> None:
    token = f"300.{uuid.uuid4().int % 10**9}"
    req = make_request("shell", command=f"exec sleep {token}")
    running = asyncio.create_task(executors.execute(req, output))
    await asyncio.sleep(0)  # the request is sent; its reply not read yet

    running.cancel()
    await asyncio.gather(running, return_exceptions=True)
    await asyncio.sleep(0.2)  # the zygote has started it by now

    await wait_until(lambda: not running_with_argument(token), within=5)
