"""Where PostgreSQL and SQLite differ: URLs, engines, transactions, locking clauses."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine


def async_url(url: str) -> str:
    """Map a user's URL to the async driver tickwork uses for it."""
    if url.startswith(("postgresql+psycopg://", "sqlite+aiosqlite://")):
        return url
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    if url.startswith("sqlite://"):
        return "sqlite+aiosqlite://" + url[len("sqlite://") :]
    raise ValueError(f"unsupported database URL {url!r}: use postgresql://… or sqlite:///…")


def is_sqlite(url: str) -> bool:
    return async_url(url).startswith("sqlite")


PG_CONNECTION: dict[str, Any] = {
    "connect_timeout": 10,
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 5,
    "keepalives_count": 3,
    "tcp_user_timeout": 20_000,
}
"""libpq settings of every coordinator connection: a server that stops answering (a network
partition, a host that died) is noticed in about 20 s, and the request answers 503, instead
of hanging until the kernel gives up on TCP (many minutes) with its locks held."""


def create_engines(
    url: str, *, prepared_statements: bool = True
) -> tuple[AsyncEngine, AsyncEngine]:
    """(reader, writer). SQLite gets one serialised writer that takes BEGIN IMMEDIATE.

    On PostgreSQL psycopg prepares a statement on the server once it has run a few times;
    ``prepared_statements=False`` turns that off (for PgBouncer in transaction mode).
    """
    target = async_url(url)
    if not target.startswith("sqlite"):
        connect_args: dict[str, Any] = dict(PG_CONNECTION)
        if not prepared_statements:
            connect_args["prepare_threshold"] = None
        # No pre-ping (a round trip before every transaction): a connection the server dropped
        # fails its first statement, the request answers 503, and SQLAlchemy, seeing a
        # disconnect, replaces every pooled connection older than that one.
        engine = create_async_engine(
            target, pool_size=5, max_overflow=10, connect_args=connect_args
        )
        # Reads on the same pool in autocommit: one round trip a statement, where a read
        # transaction costs three (BEGIN, the statement, the ROLLBACK as the connection goes
        # back). Under READ COMMITTED every statement takes its own snapshot even inside a
        # transaction, so a read of several statements loses no consistency it had.
        return engine.execution_options(isolation_level="AUTOCOMMIT"), engine
    reader = create_async_engine(target, connect_args={"timeout": 30})
    writer = create_async_engine(target, connect_args={"timeout": 30}, pool_size=1, max_overflow=0)
    _sqlite_pragmas(reader, immediate=False)
    _sqlite_pragmas(writer, immediate=True)
    return reader, writer


def _sqlite_pragmas(engine: AsyncEngine, *, immediate: bool) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


SQLITE_UNAVAILABLE = frozenset({5, 6, 10, 13, 14, 15})
"""SQLite result codes of a database that is busy, locked, unreadable or full."""
PG_UNAVAILABLE_CLASSES = ("08", "53", "57")
"""SQLSTATE classes: connection exception, insufficient resources (too many connections),
operator intervention (admin shutdown, crash shutdown, cannot connect now, cancelled)."""
PG_UNAVAILABLE_STATES = frozenset({"40001", "40P01", "55000", "25006"})
"""Serialization failure, deadlock (a retry may succeed), a database not accepting
connections, a read-only transaction (a failover in progress)."""


def is_unavailable(exc: BaseException) -> bool:
    """True when ``exc`` says the database cannot answer now (as opposed to a defect)."""
    if isinstance(exc, sa.exc.TimeoutError):  # no pooled connection came free in time
        return True
    if not isinstance(exc, sa.exc.DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    code = getattr(exc.orig, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in SQLITE_UNAVAILABLE
    state = getattr(exc.orig, "sqlstate", None)
    if state is not None:
        return state.startswith(PG_UNAVAILABLE_CLASSES) or state in PG_UNAVAILABLE_STATES
    # no SQLSTATE: the client lost its connection, or never got one
    return isinstance(exc, sa.exc.OperationalError | sa.exc.InterfaceError)


def skip_locked(stmt: sa.Select[Any], dialect_name: str) -> sa.Select[Any]:
    """FOR UPDATE SKIP LOCKED on PostgreSQL; SQLite's writer lock already serialises."""
    if dialect_name == "postgresql":
        return stmt.with_for_update(skip_locked=True)
    return stmt


async def limit_idle_transaction(conn: AsyncConnection, seconds: float) -> None:
    """Have PostgreSQL end this transaction if its client leaves it idle for ``seconds``.

    A client cut off mid-transaction (a network partition) would otherwise keep its row locks
    until the server's TCP keepalive notices, hours later, and could still commit when the
    network heals. Set per transaction (``SET LOCAL``), so it also holds behind PgBouncer.
    """
    if conn.dialect.name == "postgresql":
        millis = str(max(1, round(seconds * 1000)))
        await conn.execute(
            sa.select(sa.func.set_config("idle_in_transaction_session_timeout", millis, True))
        )


def for_update(stmt: sa.Select[Any], dialect_name: str) -> sa.Select[Any]:
    if dialect_name == "postgresql":
        return stmt.with_for_update()
    return stmt


PG_ARRAY_TYPES = {
    "VARCHAR": "text",
    "TEXT": "text",
    "INTEGER": "integer",
    "BIGINT": "bigint",
    "FLOAT": "float8",
    "BOOLEAN": "boolean",
    "JSONB": "jsonb",
    "TIMESTAMP": "timestamptz",
}


_PG = postgresql.dialect()  # type: ignore[no-untyped-call]


def one_of(
    column: sa.ColumnElement[Any], values: Iterable[Any], dialect_name: str
) -> sa.ColumnElement[bool]:
    """``column IN values``; on PostgreSQL ``column = ANY(:array)``, one parameter whatever
    the count, so the SQL text stays the same and is compiled and prepared once."""
    items = list(values)
    if dialect_name != "postgresql":
        return column.in_(items)
    return column == sa.any_(sa.literal(items, postgresql.ARRAY(column.type)))


def pair_in(
    first: sa.ColumnElement[Any],
    second: sa.ColumnElement[Any],
    pairs: Iterable[tuple[Any, Any]],
    dialect_name: str,
) -> sa.ColumnElement[bool]:
    """``(first, second) IN pairs``; on PostgreSQL against two unnested arrays (fixed SQL
    text, as in :func:`one_of`)."""
    items = list(pairs)
    if dialect_name != "postgresql":
        return sa.tuple_(first, second).in_(items)
    both = (
        sa.func.unnest(
            sa.literal([a for a, _ in items], postgresql.ARRAY(first.type)),
            sa.literal([b for _, b in items], postgresql.ARRAY(second.type)),
        )
        .table_valued("a", "b")
        .render_derived(name="pairs")
    )
    return sa.tuple_(first, second).in_(sa.select(both.c.a, both.c.b))


def _pg_array_type(column: sa.Column[Any]) -> str:
    """The PostgreSQL array type for a column (``timestamptz[]``, ``jsonb[]`` …)."""
    impl = getattr(column.type, "impl", column.type)
    name = str(impl.compile(dialect=_PG)).split("(")[0].split(" ")[0]
    return PG_ARRAY_TYPES.get(name.upper(), "text") + "[]"


async def update_many(
    conn: Any,
    table: sa.Table,
    *,
    keys: list[str],
    values: list[str],
    rows: list[dict[str, Any]],
    where: str = "",
    dialect_name: str,
) -> None:
    """Apply one UPDATE per row (matched on ``keys``) in a single statement.

    PostgreSQL: ``UPDATE … FROM unnest(<one array per column>)`` — the SQL text does not
    depend on how many rows there are, so it is compiled and prepared once. SQLite runs
    in-process, so executemany costs no round trips. ``where`` is extra SQL on the target
    table, aliased ``t``.
    """
    if not rows:
        return
    if dialect_name != "postgresql":
        b = sa.bindparam
        stmt = (
            sa.update(table)
            .where(*[table.c[k] == b(f"k_{k}") for k in keys])
            .values({table.c[c]: b(f"v_{c}") for c in values})
        )
        if where:
            stmt = stmt.where(sa.text(where.replace("t.", f"{table.name}.")))
        await conn.execute(
            stmt,
            [{**{f"k_{k}": r[k] for k in keys}, **{f"v_{c}": r[c] for c in values}} for r in rows],
        )
        return
    sql = pg_update_many(table, keys=keys, values=values, where=where)
    await conn.exec_driver_sql(sql, _pg_arrays(table, keys + values, rows))


def pg_update_many(table: sa.Table, *, keys: list[str], values: list[str], where: str = "") -> str:
    """The PostgreSQL text of :func:`update_many` (driver SQL; its parameters are
    :func:`pg_arrays` of ``keys + values``)."""
    cols = keys + values
    sets = ", ".join(f"{c} = v.{c}" for c in values)
    match = " AND ".join(f"t.{k} = v.{k}" for k in keys)
    extra = " AND " + where.replace("%", "%%") if where else ""
    return (
        f"UPDATE {table.name} AS t SET {sets} FROM unnest({_unnest_arrays(table, cols)}) "
        f"AS v({', '.join(cols)}) WHERE {match}{extra}"
    )


def pg_insert_all(table: sa.Table, cols: list[str]) -> str:
    """The PostgreSQL text of :func:`insert_all` for rows with these columns (driver SQL; its
    parameters are :func:`pg_arrays` of ``cols``)."""
    names = ", ".join(cols)
    arrays = _unnest_arrays(table, cols)
    return f"INSERT INTO {table.name} ({names}) SELECT {names} FROM unnest({arrays}) AS v({names})"


def pg_arrays(table: sa.Table, cols: list[str], rows: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """The parameters of :func:`pg_update_many` and :func:`pg_insert_all`: one list per
    column."""
    return _pg_arrays(table, cols, rows)


async def insert_all(
    conn: Any, table: sa.Table, rows: list[dict[str, Any]], *, dialect_name: str
) -> None:
    """Insert rows (all with the same keys) in one statement: on PostgreSQL ``INSERT … SELECT
    FROM unnest(<one array per column>)`` (fixed SQL text, prepared once, one round trip); on
    SQLite an executemany."""
    if not rows:
        return
    if dialect_name != "postgresql" or len(rows) == 1:
        await conn.execute(sa.insert(table), rows)
        return
    cols = list(rows[0])
    await conn.exec_driver_sql(pg_insert_all(table, cols), _pg_arrays(table, cols, rows))


async def insert_new(
    conn: Any, table: sa.Table, rows: list[dict[str, Any]], *, key: str, dialect_name: str
) -> set[Any]:
    """Insert rows (all with the same keys), skipping any that conflict with a unique key;
    the ``key`` values of the rows actually inserted.

    PostgreSQL: ``INSERT … SELECT FROM unnest(<one array per column>) ON CONFLICT DO
    NOTHING``, fixed SQL text whatever the row count (prepared once; a multi-VALUES statement
    of 1,000 rows costs more to build and parse than to run). SQLite: SQLAlchemy's batched
    INSERT … RETURNING, in-process.
    """
    if not rows:
        return set()
    if dialect_name != "postgresql":
        stmt = sqlite.insert(table).on_conflict_do_nothing().returning(table.c[key])
        return {r[0] for r in (await conn.execute(stmt, rows)).all()}
    filled = _filled(table, rows)
    cols = [*rows[0], *filled]
    sql = f"{pg_insert_all(table, cols)} ON CONFLICT DO NOTHING RETURNING {key}"
    params = _pg_arrays(table, cols, rows, filled)
    return {r[0] for r in (await conn.exec_driver_sql(sql, params)).all()}


async def upsert_many(
    conn: Any,
    table: sa.Table,
    rows: list[dict[str, Any]],
    *,
    keys: list[str],
    update: list[str],
    dialect_name: str,
    add: bool = False,
) -> None:
    """Insert rows, or update ``update`` columns of the row with the same ``keys``
    (``INSERT … ON CONFLICT (keys) DO UPDATE`` on both dialects); with ``add`` the row's
    values are added to the stored ones (counters).

    PostgreSQL: one statement over unnested arrays, whatever the row count (an executemany
    is a statement per row: the run totals of a minute's 10,000 jobs were 10,000); SQLite:
    an executemany, in-process, as are rows that repeat a key (one statement may not change
    a row twice)."""
    if not rows:
        return
    distinct = len({tuple(r[k] for k in keys) for r in rows}) == len(rows)
    if dialect_name == "postgresql" and len(rows) > 1 and distinct:
        filled = _filled(table, rows)
        cols = [*rows[0], *filled]
        sets = ", ".join(
            f"{c} = {table.name}.{c} + excluded.{c}" if add else f"{c} = excluded.{c}"
            for c in update
        )
        sql = f"{pg_insert_all(table, cols)} ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {sets}"
        await conn.exec_driver_sql(sql, _pg_arrays(table, cols, rows, filled))
        return
    module: Any = postgresql if dialect_name == "postgresql" else sqlite
    stmt = module.insert(table)
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c[k] for k in keys],
        set_={
            c: table.c[c] + getattr(stmt.excluded, c) if add else getattr(stmt.excluded, c)
            for c in update
        },
    )
    await conn.execute(stmt, rows)


def _filled(table: sa.Table, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The Python-side scalar defaults SQLAlchemy would have filled in for the columns the
    rows leave out."""
    return {
        c.name: getattr(c.default, "arg", None)
        for c in table.c
        if c.name not in rows[0] and c.default is not None and c.default.is_scalar
    }


def _unnest_arrays(table: sa.Table, cols: list[str]) -> str:
    """The arguments of ``unnest``: one array parameter per column, sent in binary.

    Binary, because psycopg's text form of a list is built in Python element by element
    (a thousand timestamps: ~8 ms as text, ~0.5 ms in binary), and the scheduler sends
    a dozen such arrays for every thousand runs it creates. Driver SQL (``%(c)b``), as
    SQLAlchemy's bound parameters always travel as text."""
    return ", ".join(f"CAST(%({c})b AS {_pg_array_type(table.c[c])})" for c in cols)


def _pg_arrays(
    table: sa.Table,
    cols: list[str],
    rows: list[dict[str, Any]],
    filled: dict[str, Any] | None = None,
) -> dict[str, list[Any]]:
    """One list per column, each value as its array takes it (see :func:`_pg_value`);
    ``filled``: the value of a column the rows leave out."""
    defaults = filled or {}
    out: dict[str, list[Any]] = {}
    for c in cols:
        values = [r[c] for r in rows] if c in rows[0] else [defaults[c]] * len(rows)
        convert = _pg_value(table.c[c])
        out[c] = values if convert is None else [None if v is None else convert(v) for v in values]
    return out


def _pg_value(column: sa.Column[Any]) -> Callable[[Any], Any] | None:
    """How a value of ``column`` goes into its array: JSON as JSON text (the text[] is cast
    to jsonb[]); a float column's whole numbers as floats (a binary array holds one type)."""
    impl = getattr(column.type, "impl", column.type)
    if isinstance(impl, sa.JSON):
        return json.dumps
    if isinstance(impl, sa.Float):
        return float
    return None
