"""What a benchmark reads besides wall time: CPU per process group, rows written per table.

CPU comes from /proc (utime + stime of every process in a group, plus what its reaped
children used), so it is the work done, whatever else the machine is doing. Rows come from
PostgreSQL's cumulative statistics (pg_stat_user_tables), which backends publish at most
once a second while idle: ``table_writes`` waits for that before reading.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import psycopg

TICK = os.sysconf("SC_CLK_TCK")
BENCH_APP = "tickwork-bench"
"""The ``application_name`` of the bench's own connections (its counts and reads), whose
backends ``postgres_pids`` leaves out: the bench measures the system, not its own polling."""


def _stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, CPU seconds incl. reaped children) of one process, None if it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text.rsplit(")", 1)[1].split()
    # fields[0] is the state (field 3); utime, stime, cutime, cstime are fields 14-17
    ppid = int(fields[1])
    ticks = sum(int(x) for x in fields[11:15])
    return ppid, ticks / TICK


def _all_processes() -> dict[int, tuple[int, float]]:
    out = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (st := _stat(int(entry))) is not None:
            out[int(entry)] = st
    return out


def tree(roots: Iterable[int], procs: dict[int, tuple[int, float]]) -> set[int]:
    """The roots and every descendant of theirs."""
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in procs.items():
        children.setdefault(ppid, []).append(pid)
    found, pending = set(), [p for p in roots if p in procs]
    while pending:
        pid = pending.pop()
        if pid not in found:
            found.add(pid)
            pending += children.get(pid, [])
    return found


@dataclass
class CpuMeter:
    """CPU seconds used by named groups of processes between ``start()`` and ``stop()``.

    ``groups`` maps a name to a function returning the group's root pids at that moment (the
    PostgreSQL backends of a database come and go with the pool; workers fork children).
    The groups are also sampled every ``every`` seconds in between, so a process that ends
    before ``stop()`` (a pooled database connection closed, a backend whose CPU would
    otherwise go to the postmaster that nobody measures) counts up to its last sample.
    """

    groups: dict[str, Callable[[], list[int]]]
    every: float = 0.5

    def _sample(self) -> dict[str, dict[int, float]]:
        procs = _all_processes()
        return {
            name: {pid: procs[pid][1] for pid in tree(roots(), procs)}
            for name, roots in self.groups.items()
        }

    def _remember(self, sample: dict[str, dict[int, float]]) -> None:
        for name, pids in sample.items():
            self._seen.setdefault(name, {}).update(pids)

    def _watch(self) -> None:
        while not self._done.wait(self.every):
            self._remember(self._sample())

    def start(self) -> None:
        self._before = self._sample()
        self._seen: dict[str, dict[int, float]] = {}
        self._done = threading.Event()
        self._watcher = threading.Thread(target=self._watch, daemon=True)
        self._watcher.start()
        self._t0 = time.perf_counter()

    def stop(self) -> dict[str, float]:
        self._done.set()
        self._watcher.join()
        after = self._sample()
        self.elapsed = time.perf_counter() - self._t0
        self._remember(after)
        used = {}
        for name, pids in self._seen.items():
            before = self._before.get(name, {})
            used[name] = sum(cpu - before.get(pid, 0.0) for pid, cpu in pids.items())
        return used


PG_KINDS = {
    "backends": "backend_type = 'client backend' AND datname = %(db)s",
    "autovacuum": "backend_type = 'autovacuum worker' AND datname = %(db)s",
    "server": "backend_type IN ('walwriter', 'checkpointer', 'background writer')",
}
"""PostgreSQL's processes a run costs, by kind: the database's connections, the autovacuum
workers cleaning its tables, and the server's WAL writer, checkpointer and background
writer (shared by every database on the server)."""


def postgres_pids(dsn: str, database: str, kind: str | None = None) -> Callable[[], list[int]]:
    """PostgreSQL's processes of ``kind`` (``PG_KINDS``; None: all of them) for
    ``database``, leaving out the bench's own connections."""
    where = " OR ".join(f"({w})" for k, w in PG_KINDS.items() if kind in (None, k))

    def pids() -> list[int]:
        with psycopg.connect(dsn, autocommit=True) as conn:
            rows = conn.execute(
                f"SELECT pid FROM pg_stat_activity WHERE ({where})"
                " AND pid <> pg_backend_pid() AND application_name <> %(app)s",
                {"db": database, "app": BENCH_APP},
            ).fetchall()
        return [r[0] for r in rows]

    return pids


def pids_of(name: str) -> Callable[[], list[int]]:
    """Processes whose command name is ``name`` (e.g. redis-server)."""

    def pids() -> list[int]:
        out = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    comm = Path(f"/proc/{entry}/comm").read_text().strip()
                except OSError:
                    continue
                if comm == name:
                    out.append(int(entry))
        return out

    return pids


@dataclass(frozen=True)
class Writes:
    """Rows inserted, updated and deleted per table, and how many updates were HOT."""

    rows: dict[str, int]
    updates: dict[str, int]
    hot: dict[str, int]

    def total(self) -> int:
        return sum(self.rows.values())

    def minus(self, before: Writes) -> Writes:
        def sub(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
            return {k: v - b.get(k, 0) for k, v in a.items() if v - b.get(k, 0)}

        return Writes(
            sub(self.rows, before.rows),
            sub(self.updates, before.updates),
            sub(self.hot, before.hot),
        )


def table_writes(dsn: str, *, settle: float = 2.5) -> Writes:
    """Cumulative row writes per table, after letting idle backends publish their counts."""
    time.sleep(settle)
    with psycopg.connect(dsn, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT relname, n_tup_ins + n_tup_upd + n_tup_del, n_tup_upd, n_tup_hot_upd "
            "FROM pg_stat_user_tables"
        ).fetchall()
    return Writes(
        {r[0]: int(r[1]) for r in rows},
        {r[0]: int(r[2]) for r in rows},
        {r[0]: int(r[3]) for r in rows},
    )


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def server_settings(dsn: str) -> dict[str, str]:
    """What of the server's configuration the figures depend on: its version, and whether
    autovacuum runs (off, nothing analyses or vacuums the tables during a run: plans made
    on small tables are kept, dead index entries stay)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        return {
            name: str(conn.execute(f"SHOW {name}").fetchone()[0])  # type: ignore[index]
            for name in ("server_version", "autovacuum")
        }


def statements_reset(dsn: str) -> bool:
    """Start counting statements afresh (pg_stat_statements); False where the server has
    not preloaded it."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        loaded = conn.execute("SHOW shared_preload_libraries").fetchone()
        if not loaded or "pg_stat_statements" not in str(loaded[0]):
            return False
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        conn.execute("SELECT pg_stat_statements_reset()")
        return True


def top_statements(dsn: str, n: int, count: int = 8) -> list[str]:
    """The statements of this database that took the most time since the last reset, each
    with its calls, and its time and shared buffers per run of the ``n`` measured."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT total_exec_time, calls, shared_blks_hit + shared_blks_read, "
            "left(regexp_replace(query, '\\s+', ' ', 'g'), 90) "
            "FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid "
            "WHERE d.datname = current_database() ORDER BY total_exec_time DESC LIMIT %s",
            (count,),
        ).fetchall()
    return [
        f"{ms / n:6.3f} ms/run {blocks / n:6.1f} buffers/run {calls:6} calls  {query}"
        for ms, calls, blocks, query in rows
    ]
