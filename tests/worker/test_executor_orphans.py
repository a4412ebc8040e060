"""No run outlives its worker: a REAL worker-like process is killed with SIGKILL mid-run.

The worker runs no cleanup code then; the zygote, whose socket closes, must kill every group.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from executor_helpers import JOBS_DIR, wait_until

from tickwork.worker.executors.process import pid_running

WORKER = """
import asyncio, json, sys
from pathlib import Path
from tickwork.worker.executors import ExecutionRequest, Executors

async def main(cfg):
    executors = Executors(pool_size=1, grace_period=cfg["grace"], import_paths=[cfg["jobs"]])
    await executors.start()
    Path(cfg["zygote_file"]).write_text(f"{executors.python.zygote.pid}\\n")
    runs = [ExecutionRequest(f"run-{i}", 1, 1, f"key-{i}", **fields)
            for i, fields in enumerate(cfg["runs"])]
    await asyncio.gather(*(executors.execute(run, lambda stream, text: None) for run in runs))
    await asyncio.Event().wait()

asyncio.run(main(json.loads(sys.argv[1])))
"""


def read_pids(path: Path) -> list[int] | None:
    """The pids a run wrote into ``path``, once it is complete (written up to its newline)."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    return [int(pid) for pid in text.split()] if text.endswith("\n") else None


def reaped(pid: int) -> bool:
    return not Path(f"/proc/{pid}").exists()


async def kill_worker_when_written(
    tmp_path: Path,
    runs: list[dict[str, Any]],
    files: list[Path],
    *,
    grace: float = 0.5,
    and_then: Callable[[list[int]], bool] = lambda pids: True,
) -> list[int]:
    """Start a worker with ``runs``; once every file is written (and ``and_then`` holds for the
    pids in them), SIGKILL it. Every pid written, the zygote's last."""
    zygote_file = tmp_path / "zygote"
    cfg = {"grace": grace, "jobs": str(JOBS_DIR), "zygote_file": str(zygote_file), "runs": runs}
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    worker = await asyncio.create_subprocess_exec(
        sys.executable, "-c", WORKER, json.dumps(cfg), env=env
    )
    files = [*files, zygote_file]

    def pids() -> list[int]:
        return [pid for path in files for pid in read_pids(path) or []]

    try:
        await wait_until(lambda: all(read_pids(path) for path in files) and and_then(pids()))
    finally:
        worker.kill()  # SIGKILL: no cleanup code of the worker runs
        await worker.wait()
    return pids()


async def test_a_killed_worker_leaves_no_shell_nor_python_run_behind(tmp_path: Path) -> None:
    grandchild, shell, python = tmp_path / "gc", tmp_path / "sh", tmp_path / "py"
    runs: list[dict[str, Any]] = [
        {
            "job_type": "shell",
            "command": f"sleep 300 & echo $! > {grandchild}; echo $$ > {shell}; wait",
        },
        {
            "job_type": "python",
            "function": "jobs_fixture.hang_ignoring_term",
            "parameters": {"pid_file": str(python)},
        },
    ]

    def python_pids() -> list[int]:  # "child grandchild", written at once, without a newline
        text = python.read_text() if python.exists() else ""
        return [int(pid) for pid in text.split()]

    pids = await kill_worker_when_written(
        tmp_path, runs, [grandchild, shell], and_then=lambda _: len(python_pids()) == 2
    )
    pids += python_pids()

    assert len(pids) == 5  # grandchild, shell, zygote, python child, its grandchild
    await wait_until(lambda: not any(pid_running(pid) for pid in pids), within=5)


async def test_leftovers_of_a_finished_shell_die_with_the_worker_during_their_grace(
    tmp_path: Path,
) -> None:
    grandchild, shell = tmp_path / "gc", tmp_path / "sh"
    # The shell exits at once; its background child ignores SIGTERM. The worker is killed once
    # the zygote reaped the shell: the worker is then in the 60 s grace period of the group (or
    # has not even learnt the exit yet), and the group has no member the zygote started.
    command = f"(trap '' TERM; exec sleep 300) & echo $! > {grandchild}; echo $$ > {shell}"
    runs = [{"job_type": "shell", "command": command}]

    [grandchild_pid, shell_pid, zygote_pid] = await kill_worker_when_written(
        tmp_path, runs, [grandchild, shell], grace=60, and_then=lambda pids: reaped(pids[1])
    )

    assert reaped(shell_pid)
    await wait_until(lambda: not pid_running(grandchild_pid), within=5)
    await wait_until(lambda: not pid_running(zygote_pid), within=5)
