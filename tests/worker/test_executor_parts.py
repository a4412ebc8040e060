from __future__ import annotations

import asyncio
import signal

import pytest
from executor_helpers import Output, make_request

from tickwork.worker.executors import Executors
from tickwork.worker.executors.base import RunControl, StreamDecoder, wait_outcome
from tickwork.worker.executors.child import resolve
from tickwork.worker.executors.process import describe_exit, group_alive, pid_running
from tickwork.worker.executors.shell import shell_env


def test_decoder_never_splits_a_utf8_sequence() -> None:
    output = Output()
    decoder = StreamDecoder("stdout")
    decoder.sink = output
    encoded = "né€".encode()

    for byte in encoded:
        decoder.feed(bytes([byte]))
    decoder.finish()

    assert output.text() == "né€"
    assert all("\ufffd" not in text for _, text in output.chunks)


def test_decoder_flushes_a_truncated_sequence_as_a_replacement() -> None:
    output = Output()
    decoder = StreamDecoder("stderr")
    decoder.sink = output

    decoder.feed("€".encode()[:2])
    decoder.finish()

    assert output.text("stderr") == "\ufffd"


def test_a_failing_sink_does_not_break_decoding() -> None:
    def broken(stream: str, text: str) -> None:
        raise RuntimeError("sink is broken")

    decoder = StreamDecoder("stdout")
    decoder.sink = broken
    decoder.feed(b"still fine")


@pytest.mark.parametrize(
    ("code", "text"),
    [(0, "exit code 0"), (3, "exit code 3"), (-signal.SIGKILL, "killed by signal SIGKILL")],
)
def test_describe_exit(code: int, text: str) -> None:
    assert describe_exit(code) == text


def test_nothing_runs_in_a_group_that_does_not_exist() -> None:
    assert not group_alive(2**22 + 12345)
    assert not pid_running(2**22 + 12345)


def test_shell_env_puts_the_run_identity_last() -> None:
    req = make_request("shell", command="true", env={"TICKWORK_RUN_ID": "spoofed", "A": "1"})

    env = shell_env(req, {"PATH": "/bin", "A": "0"})

    assert env["PATH"] == "/bin"
    assert env["A"] == "1"
    assert env["TICKWORK_RUN_ID"] == req.run_id


def test_resolve_accepts_a_colon_for_attributes() -> None:
    assert resolve("os.path:join") is resolve("os.path.join")


async def test_wait_outcome_reports_which_came_first() -> None:
    control = RunControl(grace=1)
    assert await wait_outcome(asyncio.sleep(0), 5, control) == "done"

    never = asyncio.get_running_loop().create_future()
    assert await wait_outcome(never, 0.01, control) == "timed_out"

    control.cancel()
    assert await wait_outcome(never, 5, control) == "cancelled"
    never.cancel()


async def test_unknown_job_type_fails_without_raising(output: Output) -> None:
    executors = Executors(pool_size=1)
    req = make_request("ftp")

    result = await executors.execute(req, output)

    assert result.status == "failed"
    assert result.error == "unknown job type 'ftp'"
    await executors.stop()


async def test_a_run_id_cannot_execute_twice_at_once(executors: Executors, output: Output) -> None:
    req = make_request("shell", command="echo started; sleep 30")
    running = asyncio.create_task(executors.execute(req, output))
    await output.wait_for("started")

    duplicate = await executors.execute(req, output)

    assert duplicate.status == "failed"
    assert duplicate.error == f"run {req.run_id} is already executing here"
    await executors.cancel(req.run_id)
    assert (await running).status == "cancelled"
