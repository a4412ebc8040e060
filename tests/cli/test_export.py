"""`tickwork export` writes every job as an apply file: applied to an empty server it
recreates the same jobs, and applied back to the server it came from it changes nothing."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.client.served import serve
from tickwork.cli.plan import COMPARED
from tickwork.client import Client

from .conftest import Factory, Invoke, as_json, invoker

JOBS = """
jobs:
  - name: extract
    type: shell
    command: "echo extract"
    schedule: "0 2 * * 1-5"
    timezone: Europe/Berlin
    tags: [etl, nightly]
    retries: 5
    retry_delay: 30
    backoff: exponential
  - name: load
    type: python
    function: etl.load
    depends_on: [extract]
    parameters: {table: orders, password: {$secret: DB_PASSWORD}}
    timeout: 600
    worker_tags: [db]
    on_overlap: queue
    concurrency: 1
  - name: ping
    type: http
    request: {method: POST, url: "https://example.com/hook", headers: {X-Team: ops}, body: {a: 1}}
    schedule: every 30s
    enabled: false
    description: "keeps the hook warm"
  - name: once
    type: shell
    command: "true"
    schedule: "2030-01-01T00:00:00Z"
    retention_days: 3
"""


def definitions(client: Client) -> dict[str, dict[str, object]]:
    """What apply compares, per job (dependencies and sets in a fixed order)."""
    out = {}
    for job in client.iter_jobs():
        view = job.model_dump(mode="json")
        view["depends_on"] = sorted(job.depends_on)
        for key in ("tags", "worker_tags"):
            view[key] = sorted(view[key])
        out[job.name] = {f: view[f] for f in (*COMPARED, "enabled") if f in view}
    return out


def test_export_then_apply_on_an_empty_server_recreates_the_jobs(
    tw: Invoke, job_file: Factory, client: Client, tmp_path: Path
) -> None:
    assert tw("apply", "-f", str(job_file(JOBS)), "--yes").exit_code == 0
    exported = tmp_path / "exported.yaml"
    made = tw("export", "-o", str(exported))
    assert made.exit_code == 0, made.output
    doc = yaml.safe_load(exported.read_text())
    names = [j["name"] for j in doc["jobs"]]
    assert names.index("extract") < names.index("load")  # dependencies first
    ping = next(j for j in doc["jobs"] if j["name"] == "ping")
    assert ping["enabled"] is False and "retries" not in ping  # defaults left out
    load = next(j for j in doc["jobs"] if j["name"] == "load")
    assert load["parameters"]["password"] == {"$secret": "DB_PASSWORD"}

    with serve(tmp_path / "empty.db") as other, Client(other.url, token="") as fresh:
        again = invoker(other.url)
        assert again("apply", "-f", str(exported), "--yes").exit_code == 0
        assert definitions(fresh) == definitions(client)
        plan = as_json(again("apply", "-f", str(exported), "--dry-run", "--json"))
        assert sorted(plan["unchanged"]) == sorted(names) and not plan["update"]

    back = as_json(tw("apply", "-f", str(exported), "--dry-run", "--json"))
    assert sorted(back["unchanged"]) == sorted(names)
    assert not back["create"] and not back["update"] and not back["delete"]


def test_export_as_json_and_by_tag(tw: Invoke, job_file: Factory) -> None:
    assert tw("apply", "-f", str(job_file(JOBS)), "--yes").exit_code == 0
    doc = as_json(tw("export", "--json", "--tag", "etl"))
    assert [j["name"] for j in doc["jobs"]] == ["extract"]


def test_a_namespace_travels_with_its_jobs(tw: Invoke, job_file: Factory, tmp_path: Path) -> None:
    assert tw("--namespace", "payments", "apply", "-f", str(job_file(JOBS)), "--yes").exit_code == 0
    exported = tmp_path / "payments.yaml"
    assert tw("--namespace", "payments", "export", "-o", str(exported)).exit_code == 0
    doc = yaml.safe_load(exported.read_text())
    assert doc["namespace"] == "payments" and len(doc["jobs"]) == 4
    assert all("namespace" not in j for j in doc["jobs"])
    assert as_json(tw("export", "--json"))["jobs"] == []  # default holds none of them
    with serve(tmp_path / "empty.db") as other, Client(other.url, token="") as fresh:
        assert invoker(other.url)("apply", "-f", str(exported), "--yes").exit_code == 0
        assert {j.name for j in fresh.iter_jobs()} == set()
        with Client(other.url, token="", namespace="payments") as payments:
            assert {j.name for j in payments.iter_jobs()} == {"extract", "load", "ping", "once"}


ALERTS = """
jobs:
  - name: payroll
    type: shell
    command: "true"
    tags: [money]
    sla: {finish_within: 600, max_duration: 300}
    expect_every: 26h
alert_channels:
  - name: ops
    type: webhook
    url: {$secret: OPS_HOOK}
    secret: {$secret: OPS_SIGNING}
  - name: mail
    type: email
    to: [oncall@example.com]
alert_rules:
  - name: money
    events: [run.failed, sla.breached, job.silent]
    jobs: ["tag:money"]
    channels: [ops, mail]
"""


def test_alert_channels_and_rules_round_trip_without_secrets(
    tw: Invoke, job_file: Factory, client: Client, tmp_path: Path
) -> None:
    first = as_json(tw("apply", "-f", str(job_file(ALERTS)), "--yes", "--json"))
    assert [(a["action"], a["kind"], a["name"]) for a in first["alerts"]] == [
        ("create", "channel", "ops"),
        ("create", "channel", "mail"),
        ("create", "rule", "money"),
    ]
    again = as_json(tw("apply", "-f", str(job_file(ALERTS)), "--dry-run", "--json"))
    assert {a["action"] for a in again["alerts"]} == {"unchanged"}
    # a channel whose url is a value: exported without it, with a comment saying so
    plain = {"name": "chat", "type": "slack", "url": "https://hooks.slack.com/services/T/B/SECRET"}
    client.put_alert_channel(plain, create=True)
    exported = tmp_path / "exported.yaml"
    assert tw("export", "-o", str(exported)).exit_code == 0
    text = exported.read_text()
    assert "SECRET" not in text and "hooks.slack.com" not in text
    assert "# alert channel chat: its url is a secret the server never returns" in text
    doc = yaml.safe_load(text)
    assert doc["jobs"][0]["sla"] == {"finish_within": 600, "max_duration": 300}
    assert doc["jobs"][0]["expect_every"] == "26h"
    channels = {c["name"]: c for c in doc["alert_channels"]}
    assert channels["ops"] == {
        "name": "ops",
        "type": "webhook",
        "url": {"$secret": "OPS_HOOK"},
        "secret": {"$secret": "OPS_SIGNING"},
    }
    assert channels["chat"] == {"name": "chat", "type": "slack"}
    assert doc["alert_rules"] == [
        {
            "name": "money",
            "events": ["run.failed", "sla.breached", "job.silent"],
            "jobs": ["tag:money"],
            "channels": ["ops", "mail"],
        }
    ]
    back = as_json(tw("apply", "-f", str(exported), "--dry-run", "--json"))
    assert {a["action"] for a in back["alerts"]} == {"unchanged"}
    # on an empty server the references recreate everything; the value-url channel is
    # refused until its url is given
    del doc["alert_channels"][[c["name"] for c in doc["alert_channels"]].index("chat")]
    portable = tmp_path / "portable.yaml"
    portable.write_text(yaml.safe_dump(doc))
    with serve(tmp_path / "empty.db") as other, Client(other.url, token="") as fresh:
        assert invoker(other.url)("apply", "-f", str(portable), "--yes").exit_code == 0
        assert [r.model_dump() for r in fresh.list_alert_rules().rules] == [
            r.model_dump() for r in client.list_alert_rules().rules
        ]
        got = {c.name: c.model_dump() for c in fresh.list_alert_channels().channels}
        assert got == {
            c.name: c.model_dump()
            for c in client.list_alert_channels().channels
            if c.name != "chat"
        }
