"""``python -m tickwork.worker``: options from flags and TICKWORK_* variables, a real process."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest
from test_runtime_support import FakeCoordinator, serving

from tickwork.worker.main import build_worker, parse_options
from tickwork.worker.options import DEFAULT_SERVER, WorkerOptions
from tickwork.worker.runtime import default_prefetch


def test_defaults():
    options = parse_options([], environ={})
    assert options == WorkerOptions()
    assert options.server == DEFAULT_SERVER
    assert options.import_paths() == [os.getcwd()]


def test_flags_win_over_the_environment(tmp_path: Path):
    env = {
        "TICKWORK_SERVER": "http://env:1",
        "TICKWORK_TAGS": "a,b",
        "TICKWORK_CONCURRENCY": "2",
        "TICKWORK_TOKEN": "env-token",
        "TICKWORK_REDIS_URL": "redis://env",
        "TICKWORK_GRACE": "5",
    }
    options = parse_options(
        [
            "--server",
            "http://flag:2",
            "--tags",
            " cpu-heavy , default ",
            "--concurrency",
            "8",
            "--path",
            str(tmp_path),
            "--grace",
            "7.5",
            "--max-runs-per-child",
            "50",
        ],
        environ=env,
    )
    assert options.server == "http://flag:2"
    assert options.tags == ("cpu-heavy", "default")
    assert (options.concurrency, options.grace, options.max_runs_per_child) == (8, 7.5, 50)
    assert (options.token, options.redis_url) == ("env-token", "redis://env")
    assert options.import_paths() == [str(tmp_path), os.getcwd()]


def test_bad_values_are_refused(capsys: pytest.CaptureFixture[str]):
    with pytest.raises(SystemExit):
        parse_options(["--concurrency", "0"], environ={})
    assert "--concurrency: 0 is not between 1 and 10000" in capsys.readouterr().err


def test_concurrency_goes_past_the_process_slots(capsys: pytest.CaptureFixture[str]):
    options = parse_options(
        ["--concurrency", "5000", "--processes", "8", "--async-per-child", "1000"],
        environ={"TICKWORK_STALL_AFTER": "0.5"},
    )
    assert (options.concurrency, options.processes) == (5000, 8)
    assert (options.async_per_child, options.stall_after) == (1000, 0.5)
    assert parse_options([], environ={}).processes is None  # as many as --concurrency
    worker = build_worker(options)
    assert (worker.concurrency, worker.processes) == (5000, 8)
    assert worker.registration.concurrency == 5000
    assert build_worker(WorkerOptions(concurrency=3000)).processes == 1000  # MAX_PROCESSES
    for argv, message in [
        (["--concurrency", "10001"], "--concurrency: 10001 is not between 1 and 10000"),
        (["--processes", "1001"], "--processes: 1001 is not between 1 and 1000"),
        (["--concurrency", "4", "--processes", "5"], "--processes 5 is more than --concurrency 4"),
        (["--stall-after", "0"], "--stall-after: 0 is not more than 0"),
    ]:
        with pytest.raises(SystemExit):
            parse_options(argv, environ={})
        assert message in capsys.readouterr().err


def test_prefetch_from_flag_or_environment_else_a_quarter_of_the_slots(
    capsys: pytest.CaptureFixture[str],
):
    assert parse_options(["--prefetch", "3"], environ={"TICKWORK_PREFETCH": "5"}).prefetch == 3
    assert parse_options([], environ={"TICKWORK_PREFETCH": "0"}).prefetch == 0
    assert parse_options([], environ={}).prefetch is None
    with pytest.raises(SystemExit):
        parse_options(["--prefetch", "-1"], environ={})
    assert "between 0 and 1000" in capsys.readouterr().err
    slots = [1, 3, 4, 8, 32, 64, 1000]
    assert [default_prefetch(n) for n in slots] == [0, 0, 1, 2, 8, 16, 16]


async def test_the_module_runs_a_worker_until_sigterm(tmp_path: Path):
    (tmp_path / "rt_main_jobs.py").write_text("def add(a, b):\n    return a + b\n")
    async with serving(FakeCoordinator()) as fake:
        run_id = fake.add_run(
            type="python", function="rt_main_jobs.add", parameters={"a": 2, "b": 3}
        )
        env = {**os.environ, "TICKWORK_SERVER": fake.url, "TICKWORK_TAGS": "cpu-heavy,default"}
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tickwork.worker",
            "--concurrency",
            "2",
            "--path",
            str(tmp_path),
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            assert proc.stdout is not None
            first = await asyncio.wait_for(proc.stdout.readline(), 30)
            second = await asyncio.wait_for(proc.stdout.readline(), 5)
            (worker_id,) = fake.workers
            assert first.decode() == f"Worker {worker_id} registered\n"
            assert second.decode() == "Listening for jobs...\n"
            assert fake.workers[worker_id].tags == ["cpu-heavy", "default"]
            await fake.wait_for(lambda: fake.runs[run_id].completion, 30)
            proc.send_signal(signal.SIGTERM)
            out, err = await asyncio.wait_for(proc.communicate(), 30)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        assert proc.returncode == 0, err.decode()
        assert out == b""  # nothing else on stdout: logs go to stderr
        assert fake.deregistered == [worker_id]
        completion = fake.runs[run_id].completion
        assert completion is not None and completion["result"] == 5


async def test_a_heartbeat_interval_that_cannot_keep_the_lease_is_refused():
    async with serving(FakeCoordinator(lease=30, heartbeat_interval=8)) as fake:
        env = {**os.environ, "TICKWORK_SERVER": fake.url}
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tickwork.worker",
            "--heartbeat-interval",
            "30",
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            out, err = await asyncio.wait_for(proc.communicate(), 30)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
    assert proc.returncode == 1
    assert out == b""  # never announced itself
    message = err.decode()
    assert "--heartbeat-interval 30 cannot keep the coordinator's lease of 30s" in message
    assert "at most 8s" in message
    assert "Traceback" not in message
    assert fake.requests["claim"] == 0 and fake.requests["heartbeat"] == 0
    assert fake.deregistered == fake.registrations  # and it left nothing behind
