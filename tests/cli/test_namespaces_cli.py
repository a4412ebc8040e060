"""`tickwork --namespace` / TICKWORK_NAMESPACE, the client's namespace, and apply files with a
namespace: the same job names in two namespaces stay apart."""

from __future__ import annotations

from tickwork.client import Client

from .conftest import Factory, Invoke, as_json

FILE = """
namespace: payments
jobs:
  - name: settle
    type: shell
    command: "true"
  - name: report
    type: shell
    command: "true"
    depends_on: [settle]
"""


def test_apply_a_file_with_a_namespace(tw: Invoke, job_file: Factory, client: Client) -> None:
    path = str(job_file(FILE))
    first = tw("apply", "-f", path, "--yes")
    assert first.exit_code == 0, first.output
    assert "Plan: 2 to create" in first.stdout
    again = tw("apply", "-f", path)
    assert "Plan: 0 to create, 0 to update, 0 to delete, 2 unchanged." in again.stdout
    with Client(client.url, token="", namespace="payments") as pay:
        assert [j.name for j in pay.iter_jobs()] == ["report", "settle"]
        assert pay.get_job("report").depends_on == ["settle"]
    assert list(client.iter_jobs()) == []  # the default namespace holds none
    clash = tw("--namespace", "staging", "apply", "-f", path)
    assert clash.exit_code == 2 and "'payments'" in clash.stderr
    mixed = job_file(FILE.replace("depends_on: [settle]", "namespace: other"))
    refused = tw("apply", "-f", str(mixed))
    assert refused.exit_code == 2 and "one namespace per file" in refused.stderr


def test_namespace_option_and_environment(tw: Invoke, client: Client) -> None:
    for ns in ("default", "payments"):
        with Client(client.url, token="", namespace=ns) as c:
            c.create_job({"name": "same", "type": "shell", "command": f"echo {ns}"})
    shown = as_json(tw("--namespace", "payments", "jobs", "show", "same", "--json"))
    assert (shown["namespace"], shown["command"]) == ("payments", "echo payments")
    plain = as_json(tw("jobs", "show", "same", "--json"))
    assert plain["namespace"] == "default"
    by_env = as_json(tw("jobs", "list", "--json", TICKWORK_NAMESPACE="payments"))
    assert [j["namespace"] for j in by_env["jobs"]] == ["payments"]
    triggered = tw("-n", "payments", "jobs", "trigger", "same")
    assert triggered.exit_code == 0, triggered.output
    runs = client.list_runs()
    assert runs.runs == []  # the default namespace's runs
    with Client(client.url, token="", namespace="payments") as pay:
        assert [r.job_name for r in pay.list_runs().runs] == ["same"]
    bad = tw("--namespace", "Not_A_Slug", "jobs", "list")
    assert bad.exit_code == 2 and "lowercase" in bad.stderr
