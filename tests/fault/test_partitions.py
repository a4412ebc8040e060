"""Network partitions between real processes, each in a network namespace the test makes.

The cut is silent (a blackhole on both ends of a link: no RST, no ICMP, no link-down), the way
a failed switch or a firewall drops traffic. See tests/fault/netns.py, and docs/concepts.md
("Fault tests") for what each test proves.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import psycopg
import pytest

from tests.fault.netns import Lab, NetnsHttp, lab
from tests.fault.stores import private_postgres, private_redis, query
from tests.integration.harness import JOBS_DIR, Proc, base_env, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("partitions")]

PORT = 8000  # inside the test's own namespaces: no clash with anything on the machine
LEASE = 6.0
WORKER_SETTINGS = {
    "heartbeat_interval": 1,
    "lease_seconds": LEASE,
    "worker_lost_after": LEASE,
    "ack_timeout": 3,
    "reaper_interval": 0.2,
    "scheduler_interval": 0.1,
    "claim_wait": 2,
}
# A shell job that notes each attempt's start, its SIGTERM (time.time() of the kill) and its
# finish in files. Attempt 1 sleeps far longer than the lease; a retry finishes at once.
RECORDING_COMMAND = (
    'D="$MARKS"; A="$TICKWORK_ATTEMPT"; touch "$D/start-$A"; '
    "trap 'date +%s.%N > \"$D/killed-$A\"; exit 143' TERM; "
    'if [ "$A" = 1 ]; then sleep 40 & wait $!; else sleep 0.5; fi; '
    'touch "$D/done-$A"'
)


@pytest.fixture
def partition_lab() -> Iterator[Lab]:
    with lab() as made:
        yield made


def socket_url(tcp_url: str) -> str:
    """The same database through PostgreSQL's Unix socket, which namespaces do not isolate."""
    parts = urlsplit(tcp_url)
    return f"postgresql://{parts.username}@/{parts.path.lstrip('/')}?host=/var/run/postgresql"


def start_coordinator(
    the_lab: Lab, namespace: str, host: str, name: str, **settings: Any
) -> tuple[Proc, NetnsHttp]:
    env = base_env(host=host, port=PORT, log_level="info", **settings)
    args = [sys.executable, "-m", "tickwork.cli.main", "server", "--insecure"]
    proc = the_lab.spawn(namespace, args, env, name)
    http = the_lab.http(namespace, f"http://{host}:{PORT}")
    wait_until(lambda: http.healthy() or proc.popen.poll() is not None, what=f"{name} up")
    assert http.healthy(), f"{name} exited:\n{proc.output()}"
    return proc, http


def start_worker(
    the_lab: Lab, namespace: str, server: str, hostname: str, env: dict[str, str]
) -> Proc:
    args = [
        sys.executable, "-m", "tickwork.worker", "--server", server, "--tags", "part",
        "--concurrency", "1", "--path", str(JOBS_DIR), "--hostname", hostname,
        "--kill-grace", "2", "--grace", "2",
    ]  # fmt: skip
    proc = the_lab.spawn(namespace, args, {**base_env(), **env}, hostname)
    proc.wait_for_line("Listening for jobs...")
    return proc


@pytest.mark.timeout(90)
def test_a_worker_cut_off_mid_run_fences_itself_before_its_lease_passes(
    partition_lab: Lab, pg_database: str, tmp_path: Path
) -> None:
    """Coordinator in one namespace, the worker in another; the worker's link goes silent."""
    core = partition_lab.namespace("core")
    far = partition_lab.namespace("far")
    link = partition_lab.link(core, far, subnet=1)
    server = f"http://{link.a.address}:{PORT}"
    _, api = start_coordinator(
        partition_lab,
        core,
        link.a.address,
        "coordinator",
        database_url=socket_url(pg_database),
        **WORKER_SETTINGS,
    )
    marks = tmp_path / "marks"
    marks.mkdir()
    cut_off = start_worker(partition_lab, far, server, "cut-off", {"MARKS": str(marks)})
    r = api.post(
        "/api/jobs",
        json={
            "name": "fenced",
            "type": "shell",
            "command": RECORDING_COMMAND,
            "worker_tags": ["part"],
            "retries": 2,
            "retry_delay": 0.1,
            "timeout": 120,
        },
    )
    assert r.status_code == 201, r.text
    r = api.post("/api/jobs/fenced/trigger")
    assert r.status_code == 202, r.text
    run_id = r.json()["run_id"]
    wait_until(lambda: (marks / "start-1").exists(), what="attempt 1 to start on the far worker")
    spare = start_worker(partition_lab, core, server, "spare", {"MARKS": str(marks)})

    partition_lab.cut(link)
    cut_at = time.time()
    held = watch_lease(pg_database, run_id, marks)
    killed_at = float((marks / "killed-1").read_text())

    # the far worker killed its run itself, before the coordinator could give it away
    assert cut_at < killed_at, "the run was killed before the link was cut"
    passes_at = min(held["lease_expires_at"], held["last_heartbeat"] + timedelta(seconds=LEASE))
    assert datetime.fromtimestamp(killed_at, UTC) < passes_at, (
        f"killed at {datetime.fromtimestamp(killed_at, UTC)}, the lease passed at {passes_at}"
    )
    assert any("killing held runs" in line for line in cut_off.lines), cut_off.output()

    # the reaper re-leased the run once; the spare completed it; one outcome recorded
    run = wait_until(
        lambda: (
            (r := api.get(f"/api/runs/{run_id}").json())["status"] not in ("queued", "running")
            and r
        ),
        what="the re-leased run to finish",
    )
    assert run["status"] == "completed", run
    assert [(a["status"], a["worker"]) for a in run["attempts"]] == [
        ("lost", held["worker_id"]),
        ("completed", worker_id(api, "spare")),
    ], run["attempts"]
    assert sorted(p.name for p in marks.iterdir()) == ["done-2", "killed-1", "start-1", "start-2"]
    assert (marks / "start-2").stat().st_mtime >= passes_at.timestamp() - 0.05

    # healed: the far worker's attempt 1 is refused as stale (a 409 to its late report, or
    # named stale by its first heartbeat) and changes nothing; it then takes new work
    partition_lab.heal(link)
    healed_at = datetime.now(UTC)
    try:  # told by a 409 to its report, or by its next heartbeat, whichever gets in first
        wait_until(
            lambda: any(f"{run_id} (fence 1)" in ln and "stale" in ln for ln in cut_off.lines),
            timeout=30,
            what="the far worker to be told its attempt is stale",
        )
    except AssertionError as exc:
        raise AssertionError(f"{exc}\nfar worker:\n{cut_off.output()}") from None
    wait_until(
        lambda: any(
            w["hostname"] == "cut-off"
            and w["status"] == "online"
            and datetime.fromisoformat(w["last_heartbeat"]) > healed_at
            for w in workers(api)
        ),
        what="the far worker to heartbeat again after the heal",
    )
    after = api.get(f"/api/runs/{run_id}").json()
    assert after["status"] == "completed"
    assert after["attempts"] == run["attempts"]
    assert after["finished_at"] == run["finished_at"]
    assert query(pg_database, "SELECT fence FROM runs WHERE id = %s", run_id) == [{"fence": 2}]
    assert not (marks / "done-1").exists()
    spare.stop()
    r = api.post(
        "/api/jobs",
        json={"name": "after", "type": "shell", "command": "echo back", "worker_tags": ["part"]},
    )
    assert r.status_code == 201, r.text
    again = api.post("/api/jobs/after/trigger").json()["run_id"]
    done = wait_until(
        lambda: (r := api.get(f"/api/runs/{again}").json())["status"] == "completed" and r,
        what="a new run on the healed worker",
    )
    assert done["worker"] == held["worker_id"]


def watch_lease(dsn: str, run_id: str, marks: Path) -> dict[str, Any]:
    """Poll the database from the cut until the run is re-leased; return the last state of
    the first lease (its expiry and its worker's last heartbeat) seen before that."""
    held: dict[str, Any] = {}

    def released() -> bool:
        rows = query(
            dsn,
            "SELECT r.fence, r.status, r.worker_id, r.lease_expires_at, w.last_heartbeat "
            "FROM runs r LEFT JOIN workers w ON w.id = r.worker_id WHERE r.id = %s",
            run_id,
        )
        row = rows[0]
        if row["fence"] == 1 and row["status"] == "running":
            held.update(row)
            return False
        return row["fence"] >= 2 or row["status"] != "running"

    wait_until(released, timeout=30, every=0.1, what="the run to be re-leased")
    assert held, "the run was never seen held by the far worker after the cut"
    wait_until(lambda: (marks / "killed-1").exists(), timeout=10, what="attempt 1's kill")
    return held


def workers(api: NetnsHttp) -> list[dict[str, Any]]:
    body = api.get("/api/workers").json()
    return list(body["workers"] if isinstance(body, dict) else body)


def worker_id(api: NetnsHttp, hostname: str) -> str:
    return str(next(w["id"] for w in workers(api) if w["hostname"] == hostname))


# --- the scheduler leader cut off from PostgreSQL and Redis ----------------------------------

LEADER_TTL = 2.0
TAKEOVER_BOUND = 3.0
"""Seconds after the old lease's end by which another coordinator must lead (loop latency)."""


def leads(api: NetnsHttp) -> bool | None:
    """What a coordinator says of itself; None when it does not answer in time."""
    try:
        return bool(api.get("/api/health", timeout=3).json()["scheduler_leader"])
    except (httpx.HTTPError, ValueError, KeyError):
        return None


@pytest.mark.timeout(120)
def test_a_leader_cut_off_from_its_stores_is_replaced_and_no_tick_fires_twice(
    partition_lab: Lab,
) -> None:
    """Two coordinators, each in its own namespace; PostgreSQL and Redis in a third."""
    stores = partition_lab.namespace("stores")
    one = partition_lab.namespace("one")
    two = partition_lab.namespace("two")
    links = {
        one: partition_lab.link(stores, one, subnet=2),
        two: partition_lab.link(stores, two, subnet=3),
    }
    listen = [links[one].a.address, links[two].a.address]
    dsn = private_postgres(partition_lab, stores, listen)
    private_redis(partition_lab, stores, listen)
    procs: dict[str, Proc] = {}
    apis: dict[str, NetnsHttp] = {}
    for ns in (one, two):
        store = links[ns].a.address
        procs[ns], apis[ns] = start_coordinator(
            partition_lab,
            ns,
            "127.0.0.1",
            f"coordinator-{ns[-3:]}",
            database_url=f"postgresql://postgres@{store}:5432/postgres",
            redis_url=f"redis://{store}:6379/0",
            leader_ttl=LEADER_TTL,
            scheduler_interval=0.1,
            misfire_grace=30,
        )
    r = apis[one].post(
        "/api/jobs",
        json={"name": "beat", "type": "shell", "command": "true", "schedule": "every 1s",
              "on_overlap": "allow"},
    )  # fmt: skip
    assert r.status_code == 201, r.text
    wait_until(lambda: len(ticks(dsn)) >= 3, what="three ticks before the cut")
    leader = wait_until(
        lambda: next((ns for ns in (one, two) if leads(apis[ns])), None), what="a leader"
    )
    other = two if leader == one else one

    # Cut the leader off in the middle of its scheduling transaction, the worst moment: the
    # test holds back the insert of the next tick's run until the link is cut, while the
    # leader's transaction already holds the job's row.
    with runs_held(dsn) as release:
        wait_until(
            lambda: waiting_on_lock(dsn, links[leader].b.address),
            what="the leader's transaction to wait on the held table",
        )
        partition_lab.cut(links[leader])
        cut_at = time.monotonic()
        release()  # the leader's INSERT now goes through on the server; nobody hears of it
    wait_until(lambda: leads(apis[other]), timeout=LEADER_TTL + 10, what="a new leader")
    takeover = time.monotonic() - cut_at
    before_heal = len(ticks(dsn))
    # the old leader's transaction still holds the job's row: the database must end it
    wait_until(
        lambda: len(ticks(dsn)) >= before_heal + 3,
        timeout=20,
        what="the new leader to fire the job while the old one is cut off",
    )

    partition_lab.heal(links[leader])
    healed_at = datetime.now(UTC)
    wait_until(
        lambda: leads(apis[leader]) is False,
        timeout=30,
        what="the old leader to see it no longer leads",
    )
    settled = len(ticks(dsn))
    wait_until(lambda: len(ticks(dsn)) >= settled + 2, what="ticks after the heal")

    assert takeover <= LEADER_TTL + TAKEOVER_BOUND, f"takeover took {takeover:.1f}s"
    assert leads(apis[other]) is True
    runs = ticks(dsn)
    fired = [row["scheduled_for"] for row in runs]
    assert len(fired) == len(set(fired)), "a tick fired twice"
    skipped = skipped_ticks(dsn)
    assert not set(fired) & set(skipped), "a tick both fired and was skipped"
    # every nominal tick is accounted for: fired, or skipped for a recorded reason
    every = [
        fired[0] + timedelta(seconds=s)
        for s in range(int((fired[-1] - fired[0]).total_seconds()) + 1)
    ]
    assert sorted([*fired, *skipped]) == every
    # fenced: no run reached the database long after its scheduler decided to make it, so
    # the old leader wrote nothing stale when its connections came back
    late = [
        row for row in runs if row["committed"] - row["queued_at"] > timedelta(seconds=LEADER_TTL)
    ]
    assert not late, f"runs committed long after they were planned: {late}"
    assert not [row for row in runs if row["queued_at"] < healed_at <= row["committed"]]


@contextlib.contextmanager
def runs_held(dsn: str) -> Iterator[Callable[[], None]]:
    """Hold a SHARE lock on the runs table (no run can be inserted); yields its release.

    A scheduler pass that fires a tick locks the job's row, then waits here to insert the
    run: the test can cut the leader off at exactly that point.
    """
    conn = psycopg.connect(dsn)
    try:
        conn.execute("LOCK TABLE runs IN SHARE MODE")
        yield conn.rollback
    finally:
        conn.rollback()
        conn.close()


def waiting_on_lock(dsn: str, client: str) -> bool:
    rows = query(
        dsn,
        "SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND client_addr = %s "
        "AND query LIKE 'INSERT INTO runs%%'",
        client,
    )
    return bool(rows)


def ticks(dsn: str) -> list[dict[str, Any]]:
    return query(
        dsn,
        "SELECT scheduled_for, queued_at, pg_xact_commit_timestamp(xmin) AS committed "
        "FROM runs WHERE trigger = 'schedule' ORDER BY scheduled_for",
    )


def skipped_ticks(dsn: str) -> list[datetime]:
    """Ticks recorded as skipped (an events row holds one event, or a batch of one job's)."""
    rows = query(dsn, "SELECT type, count, data FROM events WHERE type IN ('run.skipped', 'batch')")
    events = [
        item
        for row in rows
        for item in (
            row["data"] if row["count"] > 1 else [{"type": row["type"], "data": row["data"]}]
        )
    ]
    return [
        datetime.fromisoformat(e["data"]["scheduled_for"])
        for e in events
        if e["type"] == "run.skipped" and "scheduled_for" in e["data"]
    ]
