"""Process-group helpers: every run lives in its own session, and is stopped as a whole group.

"Alive" means a member that is not a zombie. An orphaned grandchild that was killed may stay a
zombie for as long as whoever adopted it does not reap it (a container's PID 1 often never does),
and ``killpg(pgid, 0)`` still counts zombies; so when the cheap check says "something is there",
``/proc`` decides.
"""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

__all__ = [
    "describe_exit",
    "group_alive",
    "kill_group",
    "pid_running",
    "signal_group",
    "terminate_group",
]

_PROC = Path("/proc")
_DEAD_STATES = frozenset("ZXx")
_KILL_WAIT = 2.0
"""How long to wait for a SIGKILLed group to disappear (it only takes a scheduler tick)."""


def signal_group(pgid: int, sig: int) -> bool:
    """Send ``sig`` to the process group; False if the group no longer exists."""
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def kill_group(pgid: int) -> None:
    """SIGKILL the whole group now, without waiting (safe to call from any cleanup path)."""
    signal_group(pgid, signal.SIGKILL)


def group_alive(pgid: int) -> bool:
    """True while a live (non-zombie) process belongs to the group."""
    if not signal_group(pgid, 0):
        return False
    if not _PROC.is_dir():
        return True
    return any(pgrp == pgid and state not in _DEAD_STATES for state, pgrp in _proc_stats())


def pid_running(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    try:
        state, _ = _parse_stat((_PROC / str(pid) / "stat").read_text())
    except (OSError, ValueError):
        return False
    return state not in _DEAD_STATES


async def terminate_group(pgid: int, grace: float) -> None:
    """SIGTERM the group, give it ``grace`` seconds, SIGKILL what is left, wait until it is gone."""
    if not signal_group(pgid, signal.SIGTERM):
        return
    if await _wait_gone(pgid, grace):
        return
    kill_group(pgid)
    await _wait_gone(pgid, _KILL_WAIT)


async def _wait_gone(pgid: int, seconds: float) -> bool:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    delay = 0.002
    while group_alive(pgid):
        remaining = deadline - loop.time()
        if remaining <= 0:
            return False
        await asyncio.sleep(min(delay, remaining))
        delay = min(delay * 2, 0.05)
    return True


def _proc_stats() -> list[tuple[str, int]]:
    stats = []
    for entry in os.scandir(_PROC):
        if not entry.name.isdigit():
            continue
        try:
            stats.append(_parse_stat(Path(entry.path, "stat").read_text()))
        except (OSError, ValueError):
            continue
    return stats


def _parse_stat(line: str) -> tuple[str, int]:
    """(state, pgrp) from a ``/proc/<pid>/stat`` line; the command name may contain ')'."""
    fields = line.rpartition(")")[2].split()
    return fields[0], int(fields[2])


def describe_exit(code: int) -> str:
    """ "exit code 3" or "killed by signal SIGSEGV" for a returncode (negative = signal)."""
    if code >= 0:
        return f"exit code {code}"
    try:
        name = signal.Signals(-code).name
    except ValueError:
        name = str(-code)
    return f"killed by signal {name}"
