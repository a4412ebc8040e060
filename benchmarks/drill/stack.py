"""The drill's own servers: a private PostgreSQL 15 cluster and Redis on free ports, two
coordinators each reaching them through relays of its own (to partition it), a load balancer
in front of the coordinators (health-checked, as a real one is) and workers behind it.

Nothing here touches the machine's shared PostgreSQL or Redis."""

from __future__ import annotations

import contextlib
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
from tests.integration.harness import Proc, base_env, free_port, wait_until

from benchmarks.drill.relay import Loop, Relay

PG_BIN = Path("/usr/lib/postgresql/15/bin")
AS_POSTGRES = ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups"]
"""initdb and postgres refuse to run as root."""


class Postgres:
    def __init__(self, base: Path) -> None:
        self.base = base
        self.data = base / "data"
        self.port = free_port()
        self.proc: Proc | None = None
        shutil.chown(base, "postgres", "postgres")
        done = subprocess.run(
            [*AS_POSTGRES, str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust",
             "-U", "postgres", "--no-sync", "-E", "UTF8"],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed: {done.stderr}")

    @property
    def admin_dsn(self) -> str:
        return f"host={self.base} port={self.port} user=postgres dbname=postgres"

    def start(self) -> None:
        self.proc = Proc(
            [*AS_POSTGRES, str(PG_BIN / "postgres"), "-D", str(self.data),
             "-c", "listen_addresses=127.0.0.1", "-c", f"port={self.port}",
             "-c", f"unix_socket_directories={self.base}", "-c", "max_connections=100",
             "-c", "fsync=off"],
            base_env(), "postgres",
        )  # fmt: skip
        wait_until(self.accepts, timeout=60, what="the private PostgreSQL")

    def accepts(self) -> bool:
        try:
            with psycopg.connect(self.admin_dsn, connect_timeout=2) as conn:
                conn.execute("SELECT 1")
        except psycopg.OperationalError:
            return False
        return True

    def stop(self) -> None:
        """A fast shutdown (SIGINT): sessions are cut, the cluster is consistent on disk."""
        if self.proc is not None and self.proc.popen.poll() is None:
            self.proc.signal(signal.SIGINT)
            self.proc.popen.wait(60)
            self.proc.stop()


class Redis:
    def __init__(self, base: Path) -> None:
        self.port = free_port()
        self.proc = Proc(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
             "--appendonly", "no", "--dir", str(base)],
            base_env(), "redis",
        )  # fmt: skip
        self.proc.wait_for_line("Ready to accept connections")


@dataclass
class Coordinator:
    name: str
    port: int
    pg: Relay
    redis: Relay
    env: dict[str, str]
    proc: Proc | None = None
    history: list[Proc] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        args = [sys.executable, "-m", "tickwork.cli.main", "server", "--insecure"]
        self.proc = Proc(args, self.env, self.name)
        self.history.append(self.proc)
        wait_until(lambda: self.health() is not None, timeout=60, what=f"{self.name} up")

    def health(self, timeout: float = 1.0) -> dict[str, Any] | None:
        """/api/health's answer (200 or 503), or None when it does not answer in time."""
        try:
            r = httpx.get(f"{self.url}/api/health", timeout=timeout)
        except httpx.HTTPError:
            return None
        return dict(r.json()) if r.status_code in (200, 503) else None

    def is_leader(self) -> bool:
        h = self.health()
        return bool(h and h.get("scheduler_leader") and h.get("status") == "ok")


class Balancer:
    """A TCP load balancer over the coordinators: new connections go round-robin to those
    whose /api/health answers 200; a backend marked down has its connections closed."""

    def __init__(self, loop: Loop, coordinators: list[Coordinator]) -> None:
        self.coordinators = coordinators
        self.healthy: dict[int, bool] = {c.port: False for c in coordinators}
        self.turn = 0
        self.relay = Relay(loop, "balancer", self._pick)
        self.port = self.relay.start()
        self._stop = threading.Event()
        self._checker = threading.Thread(target=self._check, daemon=True)
        self._checker.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _pick(self) -> list[int]:
        ports = [p for p, ok in self.healthy.items() if ok] or list(self.healthy)
        self.turn += 1
        return ports[self.turn % len(ports) :] + ports[: self.turn % len(ports)]

    def _check(self) -> None:
        while not self._stop.wait(0.25):
            for c in self.coordinators:
                h = c.health(timeout=1.0)
                ok = bool(h and h.get("status") == "ok")
                if self.healthy[c.port] and not ok:
                    self.relay.drop(c.port)
                self.healthy[c.port] = ok

    def stop(self) -> None:
        self._stop.set()
        self._checker.join(5)
        self.relay.stop()


class Stack:
    """Started by ``start``; ``close`` stops whatever got started, even after a failure."""

    def __init__(self) -> None:
        self.base = Path(tempfile.mkdtemp(prefix="tw-drill-"))
        self.base.chmod(0o711)  # the postgres user reaches its own directory inside
        self.work = self.base / "work"
        self.work.mkdir()
        (self.base / "pg").mkdir()
        self.loop = Loop()
        self.coordinators: list[Coordinator] = []
        self.workers: list[Proc] = []
        self.pg: Postgres | None = None
        self.redis: Redis | None = None
        self.balancer: Balancer | None = None

    def start(self, workers: int = 2, coordinators: int = 2) -> None:
        self.pg = Postgres(self.base / "pg")
        self.pg.start()
        with psycopg.connect(self.pg.admin_dsn, autocommit=True) as conn:
            conn.execute("CREATE DATABASE tickwork")
        self.dsn = f"host={self.pg.base} port={self.pg.port} user=postgres dbname=tickwork"
        self.redis = Redis(self.work)
        self.coordinators = [self._coordinator(chr(ord("a") + i)) for i in range(coordinators)]
        for c in self.coordinators:
            c.start()  # one after the other: the first applies the migrations
        self.balancer = balancer = Balancer(self.loop, self.coordinators)
        wait_until(lambda: all(balancer.healthy.values()), what="the balancer's checks")
        for i in range(workers):
            self.workers.append(self._worker(i))

    @property
    def lb_url(self) -> str:
        assert self.balancer is not None
        return self.balancer.url

    def _coordinator(self, tag: str) -> Coordinator:
        assert self.pg is not None and self.redis is not None
        pg_port, redis_port = self.pg.port, self.redis.port
        pg = Relay(self.loop, f"pg-{tag}", lambda: [pg_port])
        redis = Relay(self.loop, f"redis-{tag}", lambda: [redis_port])
        pg.start()
        redis.start()
        port = free_port()
        env = base_env(
            database_url=f"postgresql://postgres@127.0.0.1:{pg.port}/tickwork",
            redis_url=f"redis://127.0.0.1:{redis.port}/0",
            port=port,
            log_level="info",
        )
        return Coordinator(f"coordinator-{tag}", port, pg, redis, env)

    def _worker(self, i: int) -> Proc:
        assert self.redis is not None
        env = base_env(redis_url=f"redis://127.0.0.1:{self.redis.port}/0")
        args = [
            sys.executable, "-m", "tickwork.worker", "--server", self.lb_url,
            "--tags", "default", "--concurrency", "8", "--path", str(self.work),
            "--hostname", f"drill-worker-{i}",
        ]  # fmt: skip
        proc = Proc(args, env, f"worker-{i}")
        proc.wait_for_line("Listening for jobs...", timeout=60)
        return proc

    def leader(self) -> Coordinator | None:
        leaders = [c for c in self.coordinators if c.is_leader()]
        return leaders[0] if len(leaders) == 1 else None

    def wait_leader(self, *, other_than: Coordinator | None, timeout: float = 60) -> Coordinator:
        """The one coordinator that says it leads (and is not ``other_than``)."""

        def found() -> Coordinator | None:
            for c in self.coordinators:
                if c is not other_than and c.is_leader():
                    return c
            return None

        return wait_until(found, timeout=timeout, every=0.1, what="a new leader")

    def logs(self) -> str:
        procs: list[Proc] = [p for c in self.coordinators for p in c.history]
        procs += self.workers
        if self.pg is not None and self.pg.proc is not None:
            procs.append(self.pg.proc)
        return "\n".join(f"--- {p.name} ---\n{p.output()[-6000:]}" for p in procs)

    def close(self) -> None:
        for proc in self.workers:
            with contextlib.suppress(Exception):
                proc.stop()
        for c in self.coordinators:
            if c.proc is not None:
                with contextlib.suppress(Exception):
                    c.proc.stop()
        if self.balancer is not None:
            self.balancer.stop()
        for c in self.coordinators:
            c.pg.stop()
            c.redis.stop()
        if self.redis is not None:
            self.redis.proc.stop()
        if self.pg is not None:
            with contextlib.suppress(Exception):
                self.pg.stop()
        self.loop.close()
        time.sleep(0.2)
        shutil.rmtree(self.base, ignore_errors=True)
