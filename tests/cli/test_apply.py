"""`tickwork apply`: jobs as code from examples/jobs.yaml and from @tickwork.job modules."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.client.served import EXAMPLES, Served
from tests.integration.harness import base_env
from tickwork.client import Client

from .conftest import Factory, Invoke, as_json, run_cli

JOBS = (EXAMPLES / "jobs.yaml").read_text()
ETL = ["etl-extract", "etl-transform", "etl-load"]


def writes(client: Client) -> list[tuple[str, str | None]]:
    """Every change the server recorded (auth is off: the audit log still lists writes)."""
    return [(e.action, e.target) for e in reversed(client.audit(limit=500))]


def names(client: Client) -> list[str]:
    return [j.name for j in client.iter_jobs()]


def test_examples_round_trip(tw: Invoke, job_file: Factory, client: Client) -> None:
    first = tw("apply", "-f", str(EXAMPLES / "jobs.yaml"), "--yes")
    assert first.exit_code == 0, first.output
    assert "Plan: 6 to create, 0 to update, 0 to delete, 0 unchanged." in first.stdout
    created = [line.split()[-1] for line in first.stdout.splitlines() if line.startswith("+")]
    assert created.index("etl-extract") < created.index("etl-transform") < created.index("etl-load")
    by_target = {client.get_job(n).id: n for n in created}
    assert [by_target[t] for a, t in writes(client) if a == "jobs-create"] == created

    before = writes(client)
    second = tw("apply", "-f", str(EXAMPLES / "jobs.yaml"))
    assert second.exit_code == 0
    assert "Plan: 0 to create, 0 to update, 0 to delete, 6 unchanged." in second.stdout
    assert "nothing to change" in second.stderr
    assert writes(client) == before  # idempotent: not one write

    edited = job_file(JOBS.replace("timeout: 600", "timeout: 900"))
    dry = tw("apply", "-f", str(edited), "--dry-run")
    assert dry.exit_code == 0
    assert "~ update    daily-report\n      timeout: 600 → 900\n" in dry.stdout
    assert "Plan: 0 to create, 1 to update, 0 to delete, 5 unchanged." in dry.stdout
    assert writes(client) == before
    plan = as_json(tw("apply", "-f", str(edited), "--yes", "--json"))
    assert plan["update"] == [
        {"name": "daily-report", "changes": {"timeout": {"old": 600, "new": 900}}}
    ]
    assert plan["applied"] is True and client.get_job("daily-report").timeout == 900
    assert writes(client)[len(before) :] == [("jobs-replace", "daily-report")]


def test_prune_deletes_dependents_first(tw: Invoke, job_file: Factory, client: Client) -> None:
    tw("apply", "-f", str(EXAMPLES / "jobs.yaml"), "--yes")
    client.create_job({"name": "ad-hoc", "type": "shell", "command": "true"})
    without_etl_tail = job_file(JOBS.split("  - name: etl-transform")[0])

    kept = tw("apply", "-f", str(without_etl_tail), "--yes")  # without --prune nothing goes
    assert kept.exit_code == 0 and "- delete" not in kept.stdout
    plan = as_json(tw("apply", "-f", str(without_etl_tail), "--prune", "--dry-run", "--json"))
    assert sorted(plan["delete"]) == ["ad-hoc", "etl-load", "etl-transform"]
    assert plan["delete"].index("etl-load") < plan["delete"].index("etl-transform")
    assert plan["applied"] is False
    pruned = tw("apply", "-f", str(without_etl_tail), "--prune", "--yes")
    assert pruned.exit_code == 0, pruned.output
    assert "- delete    etl-load" in pruned.stdout
    deletes = [t for a, t in writes(client) if a == "jobs-delete"]
    assert deletes.index("etl-load") < deletes.index("etl-transform")
    assert "etl-transform" not in names(client) and "ad-hoc" not in names(client)


def test_prune_refuses_to_break_a_remaining_dependent(
    tw: Invoke, job_file: Factory, client: Client
) -> None:
    tw("apply", "-f", str(EXAMPLES / "jobs.yaml"), "--yes")
    before = writes(client)
    start, rest = JOBS.split("  - name: etl-transform")
    without_middle = job_file(start + "  - name: etl-load" + rest.split("  - name: etl-load")[1])
    result = tw("apply", "-f", str(without_middle), "--prune", "--yes")
    assert result.exit_code == 2
    assert "cannot prune etl-transform: etl-load still depend(s) on it" in result.stderr
    assert writes(client) == before


def test_invalid_file_changes_nothing(tw: Invoke, job_file: Factory, client: Client) -> None:
    bad = job_file(
        """
jobs:
  - {name: fine, type: shell, command: "true"}
  - {name: no-command, type: shell, schedule: "@daily"}
  - {name: bad-cron, type: shell, command: "true", schedule: "every fortnight"}
  - {name: fine, type: shell, command: "true"}
  - {name: typo, type: shell, command: "true", retires: 3}
"""
    )
    result = tw("apply", "-f", str(bad), "--yes")
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert lines[0].startswith("error: ") and "is not valid; nothing was changed" in lines[0]
    assert [line.strip().split(":")[0] for line in lines[1:]] == [
        "jobs[1] (no-command)",
        "jobs[2] (bad-cron)",
        "jobs[3] (fine)",
        "jobs[4] (typo)",
    ]
    assert "jobs[4] (typo): retires: unknown field" in result.stderr
    assert "name: 'fine' is already used by jobs[0] (fine)" in result.stderr
    assert names(client) == [] and writes(client) == []


def test_unknown_dependencies_and_cycles_are_caught_first(
    tw: Invoke, job_file: Factory, client: Client
) -> None:
    unknown = job_file("- {name: a, type: shell, command: 'true', depends_on: [ghost]}\n")
    result = tw("apply", "-f", str(unknown), "--yes")
    assert result.exit_code == 2 and "a: depends_on: unknown job 'ghost'" in result.stderr
    cycle = job_file(
        "- {name: a, type: shell, command: 'true', depends_on: [b]}\n"
        "- {name: b, type: shell, command: 'true', depends_on: [a]}\n"
    )
    result = tw("apply", "-f", str(cycle), "--yes")
    assert result.exit_code == 2 and "dependency cycle: a → b → a" in result.stderr
    assert tw("apply", "--yes").exit_code == 2  # neither -f nor --module
    assert writes(client) == []


def test_dependencies_by_id_and_pausing_are_respected(
    tw: Invoke, job_file: Factory, client: Client
) -> None:
    upstream = client.create_job({"name": "up", "type": "shell", "command": "true"})
    spec = f"- {{name: down, type: shell, command: 'true', depends_on: [{upstream.id}]}}\n"
    path = job_file(spec)
    assert tw("apply", "-f", str(path), "--yes").exit_code == 0
    client.pause_job("down")
    again = tw("apply", "-f", str(path), "--yes")
    assert "= unchanged down" in again.stdout  # ids resolve to names; a pause is left alone
    assert client.get_job("down").enabled is False
    enabled = job_file(spec.replace("}", ", enabled: true}"))
    assert "enabled: False → True" in tw("apply", "-f", str(enabled), "--yes").stdout
    assert client.get_job("down").enabled is True


def test_apply_module_with_the_decorator(server: Served, tmp_path: Path, client: Client) -> None:
    result = run_cli(server.url, "apply", "--module", "decorated", "--yes", cwd=EXAMPLES)
    assert result.returncode == 0, result.stderr
    assert "Plan: 3 to create" in result.stdout
    digest = client.get_job("weekly-digest")
    assert digest.function == "decorated.send_weekly_digest"
    assert (digest.schedule, digest.timezone, digest.retries) == ("0 6 * * 1", "Europe/Berlin", 1)
    assert client.get_job("archive-digest").depends_on == ["weekly-digest"]
    assert client.get_job("refresh-cache").tags == ["examples", "module:decorated"]
    again = run_cli(server.url, "apply", "-m", "decorated", "--path", str(EXAMPLES))
    assert "Plan: 0 to create, 0 to update, 0 to delete, 3 unchanged." in again.stdout

    client.create_job({"name": "by-hand", "type": "shell", "command": "true"})
    mine = tmp_path / "mine.py"
    mine.write_text(
        "import tickwork\n\n@tickwork.job(schedule='@daily')\ndef only_this() -> None: ...\n"
    )
    pruned = run_cli(server.url, "apply", "-m", "mine", "--path", str(tmp_path), "--prune", "-y")
    assert pruned.returncode == 0, pruned.stderr
    assert "- delete" not in pruned.stdout  # other modules' and hand-made jobs are not its own
    mine.write_text("import tickwork\n")
    gone = run_cli(server.url, "apply", "-m", "mine", "--path", str(tmp_path), "--prune", "-y")
    assert "- delete    only-this" in gone.stdout
    assert sorted(names(client)) == ["archive-digest", "by-hand", "refresh-cache", "weekly-digest"]

    solo = tmp_path / "solo.yaml"
    solo.write_text("- {name: solo, type: shell, command: 'true'}\n")
    file_prune = run_cli(server.url, "apply", "-f", str(solo), "--prune", "--dry-run", "--json")
    assert json.loads(file_prune.stdout)["delete"] == ["by-hand"]  # modules keep their own
    empty = run_cli(server.url, "apply", "-f", "-", "--prune", "--dry-run")
    assert empty.returncode == 2  # an empty file is refused, never read as "delete all"
    missing = run_cli(server.url, "apply", "-m", "no_such_module_here")
    assert missing.returncode == 2 and "cannot import no_such_module_here" in missing.stderr


def test_apply_asks_on_a_terminal(server: Served, client: Client) -> None:
    """Standard input a terminal: the diff, then a question; "n" changes nothing."""
    for answer, jobs in (("n", 0), ("y", 6)):
        controller, terminal = os.openpty()
        os.write(controller, f"{answer}\n".encode())  # typed ahead; read at the prompt
        try:
            done = subprocess.run(
                [sys.executable, "-m", "tickwork.cli.main", "apply", "-f", "jobs.yaml"],
                cwd=EXAMPLES,
                env={**base_env(), "TICKWORK_SERVER": server.url},
                stdin=terminal,
                capture_output=True,
                text=True,
                timeout=60,
            )
        finally:
            os.close(controller)
            os.close(terminal)
        assert "Apply these changes? [y/N]:" in done.stderr
        assert done.returncode == (1 if answer == "n" else 0), done.stderr
        assert client.list_jobs().total == jobs
