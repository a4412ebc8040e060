"""`tickwork submit`: a one-off run from options or from a one-job file, refused locally with
the field named when it carries a schedule, and followed to its end with its outcome as the
exit code (a real worker process)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.client.served import EXAMPLES, Served, serve, start_worker
from tickwork.client import Client

from .conftest import Factory, Invoke, as_json, run_cli


def test_submit_from_options(tw: Invoke, client: Client) -> None:
    made = as_json(
        tw(
            "submit",
            "--type",
            "shell",
            "--command",
            "echo hi",
            "--param",
            "n=3",
            "--env",
            "MODE=fast",
            "--tag",
            "adhoc",
            "--worker-tag",
            "default",
            "--retries",
            "1",
            "--timeout",
            "60",
            "--name",
            "warm-cache",
            "--json",
        )
    )
    assert (made["one_off"], made["job_name"], made["status"]) == (True, "warm-cache", "queued")
    assert (made["parameters"], made["max_attempts"], made["timeout"]) == ({"n": 3}, 2, 60)
    spec = client.get_run(made["id"]).spec
    assert spec is not None
    assert (spec.command, spec.env, spec.tags) == ("echo hi", {"MODE": "fast"}, ["adhoc"])
    assert client.list_jobs().total == 0
    plain = tw("submit", "-t", "python", "--function", "reports.rebuild", "--namespace", "team")
    assert plain.exit_code == 0, plain.output
    run_id = plain.stdout.strip()
    assert client.get_run(run_id).namespace == "team"
    http = as_json(tw("submit", "-t", "http", "--url", "https://example.test/hook", "--json"))
    assert client.get_run(http["id"]).spec.request["url"] == "https://example.test/hook"  # type: ignore[union-attr]


def test_submit_from_a_job_file(tw: Invoke, client: Client, job_file: Factory) -> None:
    path = job_file(
        "name: nightly-fix\ntype: shell\ncommand: [echo, fixed]\nretries: 0\nparameters: {day: 1}\n"
    )
    made = as_json(tw("submit", "-f", str(path), "--param", "extra=yes", "--json"))
    assert (made["job_name"], made["max_attempts"]) == ("nightly-fix", 1)
    assert made["parameters"] == {"day": 1, "extra": "yes"}
    assert client.get_run(made["id"]).spec.command == ["echo", "fixed"]  # type: ignore[union-attr]
    listed = as_json(tw("runs", "list", "--json"))
    assert [r["id"] for r in listed["runs"]] == [made["id"]]
    table = tw("runs", "list")
    assert table.exit_code == 0 and "one-off nightly-fix" in table.stdout
    shown = tw("runs", "show", made["id"])
    assert shown.exit_code == 0 and '"command": ["echo", "fixed"]' in shown.stdout


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (
            "name: x\ntype: shell\ncommand: 'true'\nschedule: '@daily'\n",
            "schedule: a one-off run has no schedule",
        ),
        ("name: x\ntype: bash\ncommand: 'true'\n", "type: Input should be"),
        (
            "jobs:\n- {name: a, type: shell, command: 'true'}\n"
            "- {name: b, type: shell, command: 'true'}\n",
            "holds 2 jobs",
        ),
        ("name: x\ntype: shell\n", "command: is required for a shell job"),
    ],
)
def test_a_bad_file_is_refused_before_sending(
    tw: Invoke, client: Client, job_file: Factory, text: str, words: str
) -> None:
    refused = tw("submit", "-f", str(job_file(text)))
    assert refused.exit_code == 2
    assert words in refused.output
    assert client.list_runs().total == 0


def test_options_without_a_type_are_refused(tw: Invoke) -> None:
    refused = tw("submit", "--command", "echo")
    assert refused.exit_code == 2
    assert "type: is required" in refused.output


@pytest.fixture(scope="module")
def worked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("submit")
    with serve(root / "tickwork.db") as served:
        worker = start_worker(served.url)
        try:
            yield served
        finally:
            worker.stop()


def test_the_example_file_runs_to_completion(worked: Served) -> None:
    done = run_cli(worked.url, "submit", "-f", str(EXAMPLES / "one-off.yaml"), "--follow")
    assert done.returncode == 0, done.stderr
    assert "Daily report for 2026-11-30" in done.stdout
    with Client(worked.url, token="") as client:
        [run] = [r for r in client.list_runs().runs if r.job_name == "backfill-report"]
        assert (run.one_off, run.status) == (True, "completed")


def test_follow_exits_with_the_runs_outcome(worked: Served, tmp_path: Path) -> None:
    ok = run_cli(
        worked.url, "submit", "--type", "shell", "--command", "echo from-one-off", "--follow"
    )
    assert ok.returncode == 0, ok.stderr
    assert "from-one-off" in ok.stdout  # live, or its stored output if it ended first
    flaky = run_cli(
        worked.url,
        "submit",
        "-t",
        "shell",
        "--command",
        'echo "try $TICKWORK_ATTEMPT"; exit 3',
        "--retries",
        "1",
        "--follow",
    )
    assert flaky.returncode == 1, flaky.stderr
    assert "try 1" in flaky.stdout and "try 2" in flaky.stdout
    assert "attempt 1 failed: exit code 3; retrying" in flaky.stderr
    assert " failed after " in flaky.stderr
