"""The `tickwork` command against a real coordinator (in-process uvicorn on SQLite).

Commands run through Typer's CliRunner (in this process, real HTTP to the served app) or as
real subprocesses where they must be (following live output, importing a module to apply).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

import pytest
from click.testing import Result
from typer.testing import CliRunner

from tests.client.served import Served, serve
from tests.integration.harness import base_env
from tickwork.cli.main import app
from tickwork.client import Client


class Invoke(Protocol):
    def __call__(self, *args: str, input: str | None = None, **env: str | None) -> Result: ...


def invoker(url: str) -> Invoke:
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None, **env: str | None) -> Result:
        environ = {"TICKWORK_SERVER": url, "TICKWORK_TOKEN": None, "COLUMNS": "200", **env}
        return runner.invoke(app, list(args), input=input, env=environ, catch_exceptions=False)

    return invoke


def as_json(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def run_cli(
    url: str, *args: str, cwd: Path | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    """`tickwork …` as a real process."""
    return subprocess.run(
        [sys.executable, "-m", "tickwork.cli.main", *args],
        env={**base_env(), "TICKWORK_SERVER": url, "COLUMNS": "200", **env},
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def server(sqlite_file: Path) -> Iterator[Served]:
    with serve(sqlite_file) as served:
        yield served


@pytest.fixture
def tw(server: Served) -> Invoke:
    return invoker(server.url)


@pytest.fixture
def client(server: Served) -> Iterator[Client]:
    with Client(server.url, token="") as c:
        yield c


Factory = Callable[..., Path]


@pytest.fixture
def job_file(tmp_path: Path) -> Factory:
    """Write a YAML job file and return its path."""
    count = iter(range(1000))

    def write(text: str) -> Path:
        path = tmp_path / f"jobs-{next(count)}.yaml"
        path.write_text(text)
        return path

    return write
