"""A real coordinator for client and CLI tests: the FastAPI app served by uvicorn on a free
port of 127.0.0.1, in a thread of the test process, on a SQLite file of the test's own.

Workers are real processes (``tickwork worker …``) started with the integration harness.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import threading
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import uvicorn

from tests.integration.harness import Proc, base_env, wait_until
from tickwork.api.app import create_app
from tickwork.config import Settings
from tickwork.service.container import Container

T = TypeVar("T")
ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
TEST_JOBS = ROOT / "tests" / "cli" / "jobs"

FAST: dict[str, Any] = {
    "heartbeat_interval": 0.5,
    "lease_seconds": 4,
    "worker_lost_after": 3,
    "ack_timeout": 3,
    "reaper_interval": 0.2,
    "scheduler_interval": 0.1,
    "claim_wait": 2,
}


@dataclass
class Served:
    url: str
    settings: Settings
    container: Container
    loop: asyncio.AbstractEventLoop

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine on the server's loop (e.g. ``container.tokens.create``)."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=30)


@contextlib.contextmanager
def serve(database: Path, *, port: int = 0, **settings: Any) -> Iterator[Served]:
    """The coordinator on ``port`` (0: a free one), until the block ends."""
    config = Settings(database_url=f"sqlite:///{database}", **{**FAST, **settings})
    container = Container(config)
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(container),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            ws="websockets-sansio",
            lifespan="on",
        )
    )
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_until_complete, args=(server.serve(),), daemon=True)
    thread.start()
    try:
        wait_until(lambda: server.started or not thread.is_alive(), what="uvicorn to start")
        assert server.started, "the test coordinator did not start"
        port = server.servers[0].sockets[0].getsockname()[1]
        yield Served(f"http://127.0.0.1:{port}", config, container, loop)
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        loop.close()


def start_worker(url: str, *extra: str, env: dict[str, str] | None = None) -> Proc:
    """``tickwork worker`` as a real process, importing jobs from examples/ and tests/cli/jobs/."""
    args = [
        sys.executable,
        "-m",
        "tickwork.cli.main",
        "worker",
        "--server",
        url,
        "--path",
        str(EXAMPLES),
        "--path",
        str(TEST_JOBS),
        "--concurrency",
        "4",
        "--grace",
        "5",
        "--kill-grace",
        "2",
        *extra,
    ]
    proc = Proc(args, {**base_env(), **(env or {})}, "worker")
    proc.wait_for_line("Listening for jobs...")
    return proc
