"""The store's one translation of "the database cannot answer now" into ``Unavailable``."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa

from tests.integration.harness import free_port
from tickwork.domain.errors import Unavailable
from tickwork.store.dialect import is_unavailable
from tickwork.store.sql import SqlStore


@pytest.fixture
def unreachable_url(db_url: str, tmp_path: Path) -> str:
    """The same backend as ``db_url``, at a place nothing answers."""
    if db_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / 'missing-dir' / 'tickwork.db'}"
    return f"postgresql://postgres@127.0.0.1:{free_port()}/tickwork"


async def test_the_store_says_unavailable_when_the_database_does_not_answer(
    unreachable_url: str,
) -> None:
    before = set(threading.enumerate())
    store = SqlStore(unreachable_url)
    try:
        with pytest.raises(Unavailable) as caught:
            await store.ping()
        assert caught.value.status == 503 and caught.value.retry_after >= 1
        with pytest.raises(Unavailable):
            await store.workers.get("w-1")
    finally:
        await store.close()
        await _connection_threads_finished(before)


async def _connection_threads_finished(before: set[threading.Thread]) -> None:
    """aiosqlite stops a connection that failed to open on its own thread and answers on
    the event loop: let it finish while this test's loop is still open, or its answer
    lands on a closed loop and the thread dies with an error blamed on a later test."""
    for thread in set(threading.enumerate()) - before:
        await asyncio.to_thread(thread.join, 10)
        assert not thread.is_alive(), f"{thread.name} still running"


async def test_a_bad_statement_is_not_mistaken_for_an_outage(store: SqlStore) -> None:
    """SQLite reports a missing table as an OperationalError too: it is a defect, not a 503."""
    with pytest.raises(Exception) as caught:
        async with store.db.read() as conn:
            await conn.execute(sa.text("SELECT * FROM no_such_table"))
    assert not isinstance(caught.value, Unavailable)


@pytest.mark.parametrize(
    ("error", "unavailable"),
    [
        (psycopg.OperationalError("server closed the connection unexpectedly"), True),
        (psycopg.InterfaceError("the connection is closed"), True),
        (psycopg.errors.AdminShutdown("terminating connection"), True),
        (psycopg.errors.TooManyConnections("too many clients"), True),
        (psycopg.errors.CannotConnectNow("the database system is starting up"), True),
        (psycopg.errors.SerializationFailure("could not serialize access"), True),
        (psycopg.errors.DeadlockDetected("deadlock detected"), True),
        (psycopg.errors.ReadOnlySqlTransaction("read-only transaction"), True),
        (psycopg.errors.UniqueViolation("duplicate key"), False),
        (psycopg.errors.UndefinedTable("no such relation"), False),
        (psycopg.errors.NumericValueOutOfRange("out of range"), False),
        (psycopg.DataError("NUL"), False),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, Exception) else str(v),
)
def test_which_postgresql_errors_are_an_outage(error: psycopg.Error, unavailable: bool) -> None:
    """The driver errors SQLAlchemy would wrap: outages are told apart from defects."""
    wrapped = sa.exc.DBAPIError.instance("SELECT 1", {}, error, psycopg.Error)
    assert is_unavailable(wrapped) is unavailable


def test_a_pool_timeout_is_an_outage() -> None:
    assert is_unavailable(sa.exc.TimeoutError("QueuePool limit reached"))
    assert not is_unavailable(ValueError("not a database error"))


async def test_postgres_connections_notice_a_silent_server(pg_database: str) -> None:
    """Keepalives and a TCP user timeout on every connection: a partitioned server is
    noticed in seconds rather than when the kernel gives up on TCP."""
    store = SqlStore(pg_database)
    try:
        async with store.reader.connect() as conn:
            raw = await conn.get_raw_connection()
            dsn = raw.driver_connection.info.dsn  # type: ignore[union-attr]
    finally:
        await store.close()
    for setting in ("keepalives_idle=10", "keepalives_count=3", "tcp_user_timeout=20000"):
        assert setting in dsn


async def test_a_connection_lost_under_raw_statements_is_an_outage(pg_database: str) -> None:
    """Claims and reports on PostgreSQL go through psycopg directly (pipelines): a connection
    the server dropped is an outage there too (503, not a defect), and the pool replaces it,
    so the next call succeeds."""
    from tests.conftest import _admin
    from tests.store.helpers import add_job, add_worker, claim, complete
    from tickwork.domain.clock import FakeClock
    from tickwork.domain.queries import NewRun
    from tickwork.domain.runs import Completion

    clock = FakeClock()
    store = SqlStore(pg_database)
    try:
        job = await add_job(store, clock, "raw", on_overlap="allow")
        await store.runs.bulk([NewRun(job_id=job.id, trigger="manual")] * 3, now=clock.now())
        wid = await add_worker(store, clock)
        first = await claim(store, clock, wid, limit=1)
        name = pg_database.rsplit("/", 1)[1]

        def drop_connections() -> None:
            with _admin() as admin:
                admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = %s AND pid <> pg_backend_pid()",
                    (name,),
                )

        drop_connections()
        with pytest.raises(Unavailable):
            await claim(store, clock, wid, limit=1)
        second = await claim(store, clock, wid, limit=1)
        assert len(second) == 1
        done = Completion(run_id=first[0].run_id, fence=first[0].fence, outcome="completed")
        drop_connections()
        with pytest.raises(Unavailable):
            await complete(store, [done], worker_id=wid, now=clock.now())
        (result,) = await complete(store, [done], worker_id=wid, now=clock.now())
        assert result.ok and result.status == "completed"
    finally:
        await store.close()
