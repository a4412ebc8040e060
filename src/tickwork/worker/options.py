"""Everything a worker process is started with, from flags or ``TICKWORK_*`` variables."""

from __future__ import annotations

import os
from dataclasses import dataclass

__all__ = ["DEFAULT_SERVER", "WorkerOptions", "parse_tags"]

DEFAULT_SERVER = "http://127.0.0.1:8000"


@dataclass(frozen=True, slots=True)
class WorkerOptions:
    """The options of ``tickwork worker`` / ``python -m tickwork.worker``."""

    server: str = DEFAULT_SERVER
    tags: tuple[str, ...] = ("default",)
    concurrency: int = 4
    """Runs in flight at most (sync, async and http alike)."""
    processes: int | None = None
    """Process slots: sync python functions and shell commands running at once; None: as many
    as ``concurrency`` (at most ``runtime.MAX_PROCESSES``)."""
    async_per_child: int = 500
    """``async def`` runs one async child's event loop hosts at once."""
    stall_after: float = 1.0
    """Seconds an async child's event loop may be blocked before the run blocking it is
    reported."""
    prefetch: int | None = None
    """Runs claimed ahead of free slots; None: ``runtime.default_prefetch(concurrency)``."""
    token: str | None = None
    paths: tuple[str, ...] = ()
    """Directories python jobs import from (the current directory is always added)."""
    redis_url: str | None = None
    redis_prefix: str = "tickwork"
    grace: float = 30.0
    """Shutdown: how long in-flight runs may go on finishing before they are stopped."""
    kill_grace: float = 10.0
    """Stopping a run: seconds between SIGTERM and SIGKILL to its process group."""
    heartbeat_interval: float | None = None
    """None: the coordinator's value."""
    max_runs_per_child: int = 1000
    preload: tuple[str, ...] = ()
    secrets: tuple[str, ...] = ()
    """The environment variables ``{"$secret": NAME}`` may resolve; nothing else does."""
    hostname: str | None = None
    log_level: str = "INFO"

    def import_paths(self) -> list[str]:
        """``paths`` as absolute directories, then the current directory, without repeats."""
        found: list[str] = []
        for path in (*self.paths, os.getcwd()):
            absolute = os.path.abspath(path)
            if absolute not in found:
                found.append(absolute)
        return found


def parse_tags(text: str) -> tuple[str, ...]:
    """``"cpu-heavy, default"`` → ``("cpu-heavy", "default")``."""
    return tuple(tag.strip() for tag in text.split(",") if tag.strip())
