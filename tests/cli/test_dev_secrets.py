"""`tickwork dev --secret NAME`: the bundled worker gets the same allow-list option."""

from __future__ import annotations

from typer.testing import CliRunner

from tickwork.cli.main import app
from tickwork.cli.serve import _worker_command


def test_the_bundled_worker_is_started_with_each_allowed_name() -> None:
    command = _worker_command("http://127.0.0.1:8000", 2, ["DB_PASS", "API_KEY"])
    assert command[1:3] == ["-m", "tickwork.worker"]
    assert command[-4:] == ["--secret", "DB_PASS", "--secret", "API_KEY"]
    assert "--secret" not in _worker_command("http://127.0.0.1:8000", 2, [])


def test_a_bad_name_is_refused_before_anything_starts() -> None:
    result = CliRunner().invoke(app, ["dev", "--secret", "DB-PASS"])
    assert result.exit_code == 2
    assert "'DB-PASS' is not a variable name" in result.output
