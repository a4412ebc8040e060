"""`tickwork bench` against a real coordinator (in-process, SQLite) and a real worker."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.client.served import Served, serve, start_worker
from tickwork.cli.bench import NOOP, figures, percentile
from tickwork.client import Client

from .conftest import Invoke, invoker


@pytest.fixture(scope="module")
def with_worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("bench")
    with serve(root / "tickwork.db") as served:
        worker = start_worker(served.url)
        try:
            yield served
        finally:
            worker.stop()


def test_bench_drains_no_op_runs_and_prints_the_figures(with_worker: Served) -> None:
    tw = invoker(with_worker.url)
    result = tw("bench", "--runs", "40")
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "40 no-op runs on 1 workers (4 slots), 40 completed" in text
    assert "runs/s" in text and "queued → started" in text and "queued → finished" in text
    # the coordinator's CPU comes from its /metrics, the worker's from /proc (same host)
    assert "CPU per run" in text and "coordinator" in text and "workers" in text
    with Client(with_worker.url, token="") as client:
        assert [j.name for j in client.list_jobs().jobs if j.name == "tickwork-bench"] == []


def test_bench_json_keeps_the_job_when_asked(with_worker: Served) -> None:
    tw = invoker(with_worker.url)
    result = tw("bench", "--runs", "10", "--job", "bench-kept", "--keep", "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert (out["runs"], out["completed"], out["workers"]) == (10, 10, 1)
    assert out["runs_per_second"] > 0
    assert set(out["queued_to_started"]) == {"p50", "p90", "p99", "max"}
    assert out["queued_to_started"]["p50"] <= out["queued_to_finished"]["p50"]
    with Client(with_worker.url, token="") as client:
        job = client.get_job("bench-kept")
        assert job.function == NOOP
        again = tw("bench", "--runs", "5", "--job", "bench-kept", "--json")  # reused, then gone
        assert again.exit_code == 0, again.output
        assert json.loads(again.stdout)["completed"] == 5  # only this bench's runs count
        assert all(j.name != "bench-kept" for j in client.list_jobs().jobs)


def test_bench_refuses_to_take_over_a_job_of_the_users(with_worker: Served) -> None:
    with Client(with_worker.url, token="") as client:
        client.create_job({"name": "mine", "type": "shell", "command": "true"})
        result = invoker(with_worker.url)("bench", "--runs", "5", "--job", "mine")
        assert result.exit_code == 1
        assert "a job named 'mine' exists and is not a bench job" in result.stderr
        assert client.get_job("mine").command == "true"


def test_bench_without_a_worker_for_the_tags_says_how_to_start_one(tmp_path: Path) -> None:
    with serve(tmp_path / "tickwork.db") as served:
        tw: Invoke = invoker(served.url)
        result = tw("bench", "--runs", "5", "--tags", "gpu")
        assert result.exit_code == 1
        assert "no online worker serves the tags gpu" in result.stderr
        assert "tickwork worker --tags gpu" in result.stderr
        bad = tw("bench", "--runs", "0")
        assert bad.exit_code == 2 and "--runs must be between 1 and 1000000" in bad.stderr


def test_percentiles_and_rate_from_recorded_times() -> None:
    assert percentile([5, 1, 4, 2, 3], 0.5) == 3
    assert percentile([5, 1, 4, 2, 3], 0.99) == 5
    assert percentile([7.0], 0.5) == 7.0
    assert figures([], 3, 0.1, {}, 1, 4)["runs_per_second"] is None
