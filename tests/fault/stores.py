"""Throw-away PostgreSQL and Redis servers inside a test's network namespace, and a query
helper that reaches a database through its Unix socket (namespaces do not isolate those)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import psycopg
from psycopg.rows import dict_row

from tests.fault.netns import Lab
from tests.integration.harness import base_env, wait_until


def query(dsn: str, sql: str, *args: Any) -> list[dict[str, Any]]:
    with psycopg.connect(dsn, autocommit=True, row_factory=dict_row, connect_timeout=5) as conn:
        return conn.execute(sql, args).fetchall()


def private_postgres(the_lab: Lab, namespace: str, listen: list[str]) -> str:
    """A throw-away PostgreSQL cluster inside ``namespace``; returns its Unix socket DSN."""
    initdb = Path(shutil.which("initdb") or "/usr/lib/postgresql/15/bin/initdb").resolve()
    base = Path(tempfile.mkdtemp(prefix="twpg-"))
    the_lab.cleanups.append(lambda: shutil.rmtree(base, ignore_errors=True))
    shutil.chown(base, "postgres", "postgres")
    as_postgres = ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups"]
    data = base / "data"
    done = subprocess.run(
        [*as_postgres, str(initdb), "-D", str(data), "-A", "trust", "-U", "postgres",
         "--no-sync", "-E", "UTF8"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    with (data / "pg_hba.conf").open("a") as hba:
        hba.write("host all all 10.231.0.0/16 trust\n")
    the_lab.spawn(
        namespace,
        [*as_postgres, str(initdb.parent / "postgres"), "-D", str(data),
         "-c", f"listen_addresses={','.join(listen)}", "-c", f"unix_socket_directories={base}",
         "-c", "fsync=off", "-c", "track_commit_timestamp=on", "-c", "max_connections=60"],
        base_env(), "postgres",
    )  # fmt: skip
    dsn = f"host={base} user=postgres dbname=postgres"
    wait_until(lambda: _connects(dsn), what="the private PostgreSQL")
    return dsn


def _connects(dsn: str) -> bool:
    try:
        query(dsn, "SELECT 1")
    except psycopg.OperationalError:
        return False
    return True


def private_redis(the_lab: Lab, namespace: str, listen: list[str]) -> None:
    base = Path(tempfile.mkdtemp(prefix="twredis-"))
    the_lab.cleanups.append(lambda: shutil.rmtree(base, ignore_errors=True))
    sock = base / "redis.sock"
    the_lab.spawn(
        namespace,
        ["redis-server", "--bind", *listen, "--port", "6379", "--save", "", "--appendonly", "no",
         "--protected-mode", "no", "--dir", str(base), "--unixsocket", str(sock)],
        base_env(), "redis",
    )  # fmt: skip
    wait_until(
        lambda: (
            subprocess.run(
                ["redis-cli", "-s", str(sock), "ping"], capture_output=True, check=False
            ).returncode
            == 0
        ),
        what="the private Redis",
    )
