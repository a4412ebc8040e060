"""`tickwork jobs …` against a real coordinator: happy paths, --json, and failures."""

from __future__ import annotations

import pytest

from tickwork.client import Client

from .conftest import Factory, Invoke, as_json

REPORT = """
name: daily-report
type: python
function: reports.generate_daily
schedule: "0 9 * * *"
timezone: Europe/Berlin
parameters: {recipients: [team@example.com]}
tags: [reports]
"""


def test_create_list_show(tw: Invoke, job_file: Factory, client: Client) -> None:
    created = tw("jobs", "create", "-f", str(job_file(REPORT)))
    assert created.exit_code == 0, created.output
    assert created.stdout.startswith("created daily-report (job-")
    client.create_job({"name": "cleanup", "type": "shell", "command": "true", "tags": ["ops"]})

    listed = tw("jobs", "list")
    assert listed.exit_code == 0
    assert "daily-report" in listed.stdout and "0 9 * * * (Europe/Berlin)" in listed.stdout
    assert "2 of 2 job(s)" in listed.stderr

    page = as_json(tw("jobs", "list", "--json", "--tag", "reports"))
    assert [j["name"] for j in page["jobs"]] == ["daily-report"] and page["total"] == 1
    first = as_json(tw("jobs", "list", "--json", "--limit", "1"))
    assert first["next_cursor"] is not None
    rest = as_json(tw("jobs", "list", "--json", "--limit", "1", "--cursor", first["next_cursor"]))
    assert [j["name"] for j in rest["jobs"]] == ["daily-report"]
    everything = as_json(tw("jobs", "list", "--all", "--limit", "1", "--json"))
    assert [j["name"] for j in everything["jobs"]] == ["cleanup", "daily-report"]

    shown = tw("jobs", "show", "daily-report")
    assert shown.exit_code == 0
    assert "reports.generate_daily" in shown.stdout and "team@example.com" in shown.stdout
    detail = as_json(tw("jobs", "show", "daily-report", "--json"))
    assert detail["stats"]["total_runs"] == 0 and detail["timezone"] == "Europe/Berlin"


def test_create_reports_every_problem_and_sends_nothing(
    tw: Invoke, job_file: Factory, client: Client
) -> None:
    bad = job_file("name: broken\ntype: shell\ncommand: true\ntimeout: -1\nfoo: 1\n")
    result = tw("jobs", "create", "-f", str(bad))
    assert result.exit_code == 2
    assert (
        "jobs[0] (broken): command: must be a string (run by /bin/sh -c) or a list" in result.stderr
    )
    assert "timeout: Input should be greater than 0" in result.stderr
    assert "foo: unknown field" in result.stderr
    cron = job_file("name: c\ntype: shell\ncommand: 'true'\nschedule: '61 * * * *'\n")
    assert "c): schedule:" in tw("jobs", "create", "-f", str(cron)).stderr
    missing = tw("jobs", "create", "-f", "/no/such/file.yaml")
    assert missing.exit_code == 2 and "No such file" in missing.stderr
    assert client.list_jobs().total == 0


def test_create_from_stdin_and_server_side_conflict(tw: Invoke) -> None:
    body = "name: once\ntype: shell\ncommand: echo once\n"
    assert tw("jobs", "create", "-f", "-", input=body).exit_code == 0
    again = tw("jobs", "create", "-f", "-", input=body)
    assert again.exit_code == 1
    assert (
        again.stderr.strip()
        == "error: 409 conflict: a job named 'once' already exists in namespace 'default'"
    )


def test_trigger_with_parameters_and_idempotency(tw: Invoke, client: Client) -> None:
    client.create_job({"name": "greet", "type": "shell", "command": "echo hi"})
    result = tw(
        "jobs", "trigger", "greet", "-p", "n=3", "-p", "who=me", "--params", '{"x": [1]}',
        "--idempotency-key", "k1",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    run_id = result.stdout.strip()
    assert result.stderr.startswith(f"queued {run_id}")
    assert client.get_run(run_id).parameters == {"x": [1], "n": 3, "who": "me"}
    same = as_json(tw("jobs", "trigger", "greet", "--idempotency-key", "k1", "--json"))
    assert same == {"run_id": run_id, "status": "queued", "created": False}
    bad = tw("jobs", "trigger", "greet", "-p", "novalue")
    assert bad.exit_code == 2 and "expected key=value" in bad.stderr
    missing = tw("jobs", "trigger", "nope")
    assert missing.exit_code == 1
    assert "404 not_found: no job with id or name 'nope'" in missing.stderr


def test_patch_changes_only_the_fields_given(tw: Invoke, client: Client) -> None:
    client.create_job(
        {"name": "p", "type": "shell", "command": "true", "retries": 7, "parameters": {"a": 1}}
    )
    result = tw(
        "jobs", "patch", "p", "--set", "command=echo hi", "-s", "priority=80",
        "--patch", '{"parameters": {"b": [2]}}', "--unset", "retries",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().startswith("patched p (job-")
    assert "command, parameters, priority, retries" in result.stdout
    job = client.get_job("p")
    assert (job.command, job.priority, job.retries) == ("echo hi", 80, 3)
    assert job.parameters == {"a": 1, "b": [2]}
    shown = as_json(tw("jobs", "patch", "p", "-s", "enabled=false", "--json"))
    assert shown["enabled"] is False and shown["status"] == "paused"
    bad = tw("jobs", "patch", "p", "-s", "timeout=soon")
    assert bad.exit_code == 1 and "422 validation_error: timeout" in bad.stderr
    nothing = tw("jobs", "patch", "p")
    assert nothing.exit_code == 2 and "nothing to change" in nothing.stderr
    assert tw("jobs", "patch", "p", "--patch", "[1]").exit_code == 2
    assert client.patch_job("p", {"description": "by the client"}).description == "by the client"


def test_pause_resume(tw: Invoke, client: Client) -> None:
    client.create_job({"name": "tick", "type": "shell", "command": "true", "schedule": "5m"})
    paused = tw("jobs", "pause", "tick")
    assert paused.exit_code == 0 and paused.stdout.startswith("tick: paused, next run -")
    assert client.get_job("tick").enabled is False
    resumed = as_json(tw("jobs", "resume", "tick", "--json"))
    assert resumed["status"] == "idle" and resumed["next_run"] is not None
    assert tw("jobs", "pause", "nope").exit_code == 1


def test_delete_refuses_while_needed_unless_forced(tw: Invoke, client: Client) -> None:
    client.create_job({"name": "up", "type": "shell", "command": "true"})
    client.create_job({"name": "down", "type": "shell", "command": "true", "depends_on": ["up"]})
    refused = tw("jobs", "delete", "up")
    assert refused.exit_code == 1
    assert refused.stderr.startswith("error: 409 conflict: job 'up' is a dependency of down")
    assert "--force" in refused.stderr
    forced = tw("jobs", "delete", "up", "--force", "--yes")
    assert forced.exit_code == 0 and forced.stdout.strip() == "deleted up"
    assert client.get_job("down").depends_on == []
    assert as_json(tw("jobs", "delete", "down", "--json")) == {"deleted": "down"}
    assert tw("jobs", "delete", "down").exit_code == 1


@pytest.mark.parametrize(
    "args",
    [
        ["jobs", "list"],
        ["runs", "list"],
        ["workers"],
        ["dlq", "list"],
        ["status"],
        ["jobs", "show", "j"],
        ["jobs", "trigger", "j"],
    ],
    ids=lambda a: "-".join(a),
)
def test_json_output_parses(tw: Invoke, client: Client, args: list[str]) -> None:
    client.create_job({"name": "j", "type": "shell", "command": "true"})
    assert as_json(tw(*args, "--json")) is not None


def test_unreachable_server_is_one_clear_line(tw: Invoke) -> None:
    result = tw("jobs", "list", "--server", "http://127.0.0.1:9")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: cannot reach the coordinator at http://127.0.0.1:9")
    assert "TICKWORK_SERVER" in result.stderr and len(result.stderr.strip().splitlines()) == 1
