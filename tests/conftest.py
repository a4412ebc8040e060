"""Shared fixtures: real PostgreSQL and Redis (never skipped), SQLite files, fake clocks."""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import psycopg
import pytest
import redis

from tickwork.domain.clock import FakeClock
from tickwork.store import migrate
from tickwork.store.sql import SqlStore

from .receivers import HttpReceiver, SmtpServer, start_http_receiver, start_smtp_server

PG_HOST = os.environ.get("TICKWORK_TEST_PG_HOST", "127.0.0.1")
PG_ADMIN = f"host={PG_HOST} port=5432 user=postgres dbname=postgres"
REDIS_URL = os.environ.get("TICKWORK_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
RUN_TAG = uuid.uuid4().hex[:8]


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """``--dist loadgroup`` on pytest >= 9.2: xdist (3.8) marks an ``xdist_group`` by adding
    ``@group`` to the node id through ``item._nodeid``, which pytest 9.2 no longer reads (its ids
    are structured), so every group was silently spread over the workers (pytest-xdist#1386).
    Where xdist's own suffix is missing, this adds it the way pytest 9.2 keeps ids."""
    if not getattr(config.option, "loadgroup", False):
        return
    for item in items:
        names = {
            str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))
            for mark in item.iter_markers("xdist_group")
        }
        suffix = "@" + "_".join(sorted(names))
        if not names or item.nodeid.endswith(suffix) or not hasattr(item, "_id"):
            continue
        from _pytest.nodeid import NodeId

        item._id = NodeId.parse(item.nodeid + suffix)


def pg_url(db: str) -> str:
    return f"postgresql://postgres@{PG_HOST}:5432/{db}"


def _admin() -> psycopg.Connection:
    try:
        return psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.fail(
            f"PostgreSQL is required at {PG_HOST}:5432 (run `make services`): {exc}", pytrace=False
        )


@contextmanager
def refusing_connections(url: str) -> Iterator[None]:
    """An outage of one test database: it stops taking connections and loses those it had;
    restored on exit. The server, and every other session's databases, keep running."""
    name = url.rsplit("/", 1)[1]
    with _admin() as admin:
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        try:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            )
            yield
        finally:
            admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')


@pytest.fixture(scope="session")
def pg_template(worker_id: str) -> Iterator[str]:
    """A migrated database that every PostgreSQL test clones (CREATE DATABASE … TEMPLATE)."""
    name = f"tw_tpl_{RUN_TAG}_{worker_id}"
    with _admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')

    async def up() -> None:
        store = SqlStore(pg_url(name))
        await migrate.upgrade(store.writer)
        await store.close()

    asyncio.run(up())
    yield name
    with _admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def pg_database(pg_template: str) -> Iterator[str]:
    """A fresh PostgreSQL database URL for one test, dropped afterwards."""
    name = f"tw_{RUN_TAG}_{uuid.uuid4().hex[:10]}"
    with _admin() as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"')
    yield pg_url(name)
    with _admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite database that every SQLite test copies, as PostgreSQL tests clone
    ``pg_template``: a copy takes a millisecond, migrating from scratch about half a second.
    (Starting a container on a copy still runs the migrations, which find nothing to do.)"""
    path = tmp_path_factory.mktemp("sqlite-template") / "tickwork.db"

    async def up() -> None:
        store = SqlStore(f"sqlite:///{path}")
        await migrate.upgrade(store.writer)
        await store.close()

    asyncio.run(up())
    with closing(sqlite3.connect(path)) as conn:  # everything in the file itself, no -wal
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


def _sqlite_copy(template: Path, tmp_path: Path) -> Path:
    target = tmp_path / "tickwork.db"
    shutil.copyfile(template, target)
    return target


@pytest.fixture
def sqlite_file(sqlite_template: Path, tmp_path: Path) -> Path:
    """A migrated SQLite database of this test's own: tmp_path / "tickwork.db"."""
    return _sqlite_copy(sqlite_template, tmp_path)


@pytest.fixture
def sqlite_url(sqlite_file: Path) -> str:
    return f"sqlite:///{sqlite_file}"


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each store test runs on both backends, on a migrated database of its own."""
    if request.param == "sqlite":
        return f"sqlite:///{_sqlite_copy(request.getfixturevalue('sqlite_template'), tmp_path)}"
    url: str = request.getfixturevalue("pg_database")
    return url


@pytest.fixture
async def store(db_url: str) -> AsyncIterator[SqlStore]:
    s = SqlStore(db_url)
    if s.dialect == "sqlite":
        await migrate.upgrade(s.writer)
    yield s
    await s.close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A Redis key prefix of this test's own; its keys are deleted afterwards."""
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=5)
    try:
        client.ping()
    except redis.ConnectionError as exc:
        pytest.fail(f"Redis is required at {REDIS_URL} (run `make services`): {exc}", pytrace=False)
    prefix = f"twtest:{RUN_TAG}:{uuid.uuid4().hex[:8]}"
    yield prefix
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)
    client.close()


@pytest.fixture
def redis_url() -> str:
    return REDIS_URL


@pytest.fixture
def webhook_receiver() -> Iterator[HttpReceiver]:
    """A real local HTTP server that records what alert channels post to it."""
    receiver, server = start_http_receiver()
    yield receiver
    server.shutdown()
    server.server_close()


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A real local SMTP server (aiosmtpd) that keeps the mail it is sent."""
    server, controller = start_smtp_server()
    yield server
    controller.stop()
