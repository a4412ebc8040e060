"""Real processes for integration and fault tests: a coordinator and workers on this machine.

Everything listens on 127.0.0.1 and is stopped by the fixtures; waits poll with deadlines.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx

T = TypeVar("T")
JOBS_DIR = Path(__file__).resolve().parent / "jobs"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(
    check: Callable[[], T], *, timeout: float = 30, every: float = 0.05, what: str = "condition"
) -> T:
    """Poll ``check`` until it returns something truthy; fail with ``what`` on timeout."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


class Proc:
    """A child process whose output is collected line by line."""

    def __init__(self, args: list[str], env: dict[str, str], name: str) -> None:
        self.name = name
        self.lines: list[str] = []
        self.popen = subprocess.Popen(
            args,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.popen.stdout is not None
        for line in self.popen.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def pid(self) -> int:
        return self.popen.pid

    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_for_line(self, text: str, timeout: float = 30) -> None:
        wait_until(
            lambda: any(text in line for line in self.lines) or self._died(),
            timeout=timeout,
            what=f"{self.name} to print {text!r}",
        )
        if not any(text in line for line in self.lines):
            raise AssertionError(f"{self.name} exited:\n{self.output()}")

    def _died(self) -> bool:
        return self.popen.poll() is not None

    def signal(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, sig)

    def stop(self, timeout: float = 20) -> int | None:
        if self.popen.poll() is None:
            self.signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.pid, signal.SIGKILL)
                self.popen.wait(5)
        self._reader.join(5)
        if self.popen.stdout is not None:
            self.popen.stdout.close()
        return self.popen.returncode


def base_env(**settings: Any) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TICKWORK_")}
    env["PYTHONUNBUFFERED"] = "1"
    for key, value in settings.items():
        if value is not None:
            env[f"TICKWORK_{key.upper()}"] = str(value)
    return env


class Cluster:
    """One coordinator plus any number of workers, torn down together."""

    def __init__(
        self,
        database_url: str,
        redis_url: str | None,
        redis_prefix: str,
        *,
        insecure: bool = True,
        **settings: Any,
    ) -> None:
        self.insecure = insecure  # False: tokens required (give self.http a header)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.settings = {
            "database_url": database_url,
            "redis_url": redis_url,
            "redis_prefix": redis_prefix,
            "port": self.port,
            **settings,
        }
        self.redis_url = redis_url
        self.redis_prefix = redis_prefix
        self.coordinators: list[Proc] = []
        self.workers: list[Proc] = []
        self.http = httpx.Client(base_url=self.url, timeout=30)

    def start_coordinator(self, port: int | None = None) -> Proc:
        env = base_env(**{**self.settings, "port": port or self.port})
        proc = Proc(
            [
                sys.executable,
                "-m",
                "tickwork.cli.main",
                "server",
                *(["--insecure"] if self.insecure and not self.settings.get("auth") else []),
                "--log-level",
                str(self.settings.get("log_level", "info")),
            ],
            env,
            f"coordinator:{port or self.port}",
        )
        self.coordinators.append(proc)
        url = f"http://127.0.0.1:{port or self.port}"
        wait_until(lambda: _healthy(url) or proc._died(), timeout=30, what=f"coordinator at {url}")
        if proc._died():
            raise AssertionError(f"coordinator exited:\n{proc.output()}")
        return proc

    def start_worker(
        self,
        *,
        tags: str = "default",
        concurrency: int = 4,
        grace: float = 10,
        extra: tuple[str, ...] | list[str] = (),
        env: dict[str, str] | None = None,
    ) -> Proc:
        env = {**base_env(redis_url=self.redis_url, redis_prefix=self.redis_prefix), **(env or {})}
        args = [
            sys.executable,
            "-m",
            "tickwork.worker",
            "--server",
            self.url,
            "--tags",
            tags,
            "--concurrency",
            str(concurrency),
            "--path",
            str(JOBS_DIR),
            "--grace",
            str(grace),
            *extra,
        ]
        proc = Proc(args, env, f"worker-{len(self.workers)}")
        self.workers.append(proc)
        proc.wait_for_line("Listening for jobs...")
        return proc

    # --- API helpers -------------------------------------------------------------
    def create_job(self, **body: Any) -> dict[str, Any]:
        r = self.http.post("/api/jobs", json=body)
        assert r.status_code == 201, r.text
        return dict(r.json())

    def trigger(self, job: str, **body: Any) -> str:
        r = self.http.post(f"/api/jobs/{job}/trigger", json=body or None)
        assert r.status_code == 202, r.text
        return str(r.json()["run_id"])

    def run(self, run_id: str) -> dict[str, Any]:
        return dict(self.http.get(f"/api/runs/{run_id}").json())

    def wait_status(self, run_id: str, *statuses: str, timeout: float = 30) -> dict[str, Any]:
        return wait_until(
            lambda: (r := self.run(run_id))["status"] in statuses and r,
            timeout=timeout,
            what=f"run {run_id} to be {statuses}",
        )

    def close(self) -> None:
        for proc in [*self.workers, *self.coordinators]:
            proc.stop()
        self.http.close()


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/api/health", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie counts as gone
    with contextlib.suppress(OSError):
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
        return state != "Z"
    return True


@contextlib.contextmanager
def cluster(
    database_url: str, redis_url: str | None, redis_prefix: str, **settings: Any
) -> Iterator[Cluster]:
    c = Cluster(database_url, redis_url, redis_prefix, **settings)
    try:
        c.start_coordinator()
        yield c
    finally:
        c.close()
