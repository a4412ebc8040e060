"""`tickwork server` refuses settings a browser could abuse before it listens."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from tickwork.cli import serve
from tickwork.cli.main import app
from tickwork.config import Settings


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[Settings]:
    """The settings each `server` run would have served with (nothing listens)."""
    calls: list[Settings] = []
    monkeypatch.setattr(serve, "_serve", lambda settings, before_exit=None: calls.append(settings))
    monkeypatch.setattr(serve, "_logging", lambda level: None)
    return calls


def invoke(*args: str, **env: str | None) -> tuple[int, str]:
    environ = {"TICKWORK_ALLOWED_HOSTS": None, "TICKWORK_HOST": None, "COLUMNS": "200", **env}
    result = CliRunner().invoke(app, ["server", *args], env=environ, catch_exceptions=False)
    return result.exit_code, " ".join(result.output.split())


@pytest.mark.parametrize("host", ["0.0.0.0", "::"])
def test_listening_on_every_address_needs_the_allowed_hosts(
    started: list[Settings], host: str
) -> None:
    """Workers and browsers reach such a server by names it cannot guess; answering to any
    Host would let a rebound DNS name reach it, so it says what to set instead of starting."""
    code, output = invoke("--host", host)
    assert code == 2, output
    assert "TICKWORK_ALLOWED_HOSTS" in output and "or *" in output
    assert started == []


def test_with_allowed_hosts_it_starts(started: list[Settings]) -> None:
    code, output = invoke("--host", "0.0.0.0", TICKWORK_ALLOWED_HOSTS="tw.example.com")
    assert code == 0, output
    [settings] = started
    assert (settings.host, settings.allowed_hosts, settings.auth) == (
        "0.0.0.0",
        ["tw.example.com"],
        True,
    )


def test_a_specific_address_needs_no_list(started: list[Settings]) -> None:
    code, output = invoke("--host", "127.0.0.1", "--insecure")
    assert code == 0, output
    assert [(s.host, s.allowed_hosts, s.auth) for s in started] == [("127.0.0.1", [], False)]
