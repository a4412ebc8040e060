"""`tickwork server` / `tickwork dev` refuse lease settings a healthy worker could not keep:
a clean message naming the settings and the rule, exit status 2, nothing started."""

from __future__ import annotations

from pathlib import Path

import pydantic
import pytest

from tickwork.config import Settings

from .conftest import run_cli


def test_server_refuses_a_heartbeat_as_long_as_the_lease(tmp_path: Path) -> None:
    done = run_cli(
        "http://unused",
        "server",
        "--insecure",
        cwd=tmp_path,
        TICKWORK_LEASE_SECONDS="30",
        TICKWORK_HEARTBEAT_INTERVAL="30",
    )
    assert done.returncode == 2
    err = " ".join(done.stderr.split())  # Rich wraps long lines
    assert "refusing to start" in err
    assert "heartbeat_interval (30s) is too long for lease_seconds=30s" in err
    assert "must be at most 8s" in err
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "tickwork.db").exists()  # refused before anything started


def test_dev_lists_every_broken_rule(tmp_path: Path) -> None:
    done = run_cli(
        "http://unused",
        "dev",
        "--no-worker",
        "--database",
        str(tmp_path / "dev.db"),
        TICKWORK_WORKER_LOST_AFTER="20",
        TICKWORK_ACK_TIMEOUT="1",
        TICKWORK_HEARTBEAT_INTERVAL="30",
    )
    assert done.returncode == 2
    err = " ".join(done.stderr.split())
    assert "heartbeat_interval (30s) is too long for worker_lost_after=20s" in err
    assert "ack_timeout (1s)" in err and "at least 4s" in err
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "dev.db").exists()


def test_a_plain_field_error_is_named_with_its_variable(tmp_path: Path) -> None:
    done = run_cli(
        "http://unused", "server", "--insecure", cwd=tmp_path, TICKWORK_LEASE_SECONDS="1"
    )
    assert done.returncode == 2
    assert "lease_seconds (TICKWORK_LEASE_SECONDS)" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_shorter_lease_alone_gets_a_heartbeat_that_fits() -> None:
    timing = Settings(lease_seconds=30).lease_timing()
    assert (timing.hold, timing.interval) == (30, 8)
    assert Settings().lease_timing().interval == 30  # the defaults are unchanged


@pytest.mark.parametrize(
    "values",
    [
        {"lease_seconds": 30, "heartbeat_interval": 9},
        {"worker_lost_after": 10, "heartbeat_interval": 30},
        {"ack_timeout": 3},
    ],
)
def test_settings_refuse_what_cannot_work(values: dict[str, float]) -> None:
    with pytest.raises(pydantic.ValidationError):
        Settings(**values)
