"""`tickwork export [-o FILE] [--tag T] [--json]`: the jobs (and, without --tag, the
pipelines and the alert channels and rules) of a namespace as an apply file. A pipeline's
task jobs are written inside its pipeline (``pipelines:``), not among the jobs.

What it writes is what ``tickwork apply -f`` reads: one document per job with its name and
every field that differs from the default (dependencies by name, a paused job as ``enabled:
false``), dependencies before their dependents, and the namespace (``tickwork --namespace``)
beside them when it is not ``default``, and the namespace's business calendars
(``calendars:``, which apply creates before the jobs). Applied to an empty server it recreates
the calendars and jobs; applied back to the server it came from it changes nothing. Secrets
stay references (``{"$secret": NAME}``): a job definition never holds a secret's value; an
alert channel's url or signing secret that is a value (the server never returns one) is left
out, with a comment saying so.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from tickwork.cli.alertfile import channel_document, rule_document
from tickwork.cli.common import ServerOpt, TokenOpt, err, fail, session
from tickwork.client import Client
from tickwork.domain.dag import topological_order
from tickwork.domain.namespaces import DEFAULT_NAMESPACE
from tickwork.schemas.calendars import CalendarIn, CalendarOut
from tickwork.schemas.jobs import JobIn, JobOut, dependency_ref
from tickwork.schemas.pipelines import PipelineOut, pipeline_document

HEADER = "# tickwork export: apply with `tickwork apply -f {name}`\n"
SECRET_NOTE = (
    "alert channel {channel}: its {field} is a secret the server never returns, so it is left "
    'out; give it as {{"$secret": NAME}} (the coordinator\'s environment) before applying '
    "this file to another server"
)


def job_document(job: JobOut) -> dict[str, Any]:
    """The apply-file form of a job read from the server: its non-default fields."""
    fields = {f: v for f, v in job.model_dump(mode="json").items() if f in JobIn.model_fields}
    declared = JobIn.model_validate(fields)
    doc = declared.model_dump(mode="json", exclude_defaults=True)
    if isinstance(doc.get("request"), dict):
        doc["request"] = {k: v for k, v in doc["request"].items() if v not in (None, {}, "")}
    kept = {k: _tidy(v) for k, v in doc.items() if k not in ("name", "namespace")}
    return {"name": job.name, **kept}


def calendar_document(calendar: CalendarOut) -> dict[str, Any]:
    """The apply-file form of a calendar: its name and non-default fields."""
    fields = {
        f: v for f, v in calendar.model_dump(mode="json").items() if f in CalendarIn.model_fields
    }
    doc = CalendarIn.model_validate(fields).model_dump(mode="json", exclude_defaults=True)
    if isinstance(doc.get("holidays"), dict) and doc["holidays"].get("subdivision") is None:
        doc["holidays"].pop("subdivision", None)
    return {
        "name": calendar.name,
        **{k: v for k, v in doc.items() if k not in ("name", "namespace")},
    }


def _tidy(value: Any) -> Any:
    """600.0 → 600, for people reading the file."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def ordered(jobs: list[JobOut]) -> list[JobOut]:
    """Dependencies first, else by name."""
    by_name = {j.name: j for j in sorted(jobs, key=lambda j: j.name)}
    graph = {
        name: [ref for ref, _ in map(dependency_ref, j.depends_on) if ref in by_name]
        for name, j in by_name.items()
    }
    return [by_name[n] for n in topological_order(graph)]


def _all_pipelines(client: Client) -> list[PipelineOut]:
    found: list[PipelineOut] = []
    cursor = None
    while True:
        page = client.list_pipelines(limit=200, cursor=cursor)
        found += page.items
        if page.next_cursor is None:
            return found
        cursor = page.next_cursor


def export(
    output: Annotated[
        str | None, typer.Option("--output", "-o", help="Write to this file (default: stdout).")
    ] = None,
    tag: Annotated[str | None, typer.Option(help="Only jobs with this tag.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of YAML.")] = False,
    server: ServerOpt = None,
    token: TokenOpt = None,
) -> None:
    """Write the namespace's jobs (or those with --tag) as a file `tickwork apply -f` reads
    back."""
    with session(server, token) as client:
        namespace = client.namespace
        jobs = [j for j in client.iter_jobs(tag=tag) if j.pipeline_id is None]
        pipelines = [] if tag else _all_pipelines(client)
        calendars = client.list_calendars()
        channels = [] if tag else client.list_alert_channels().channels
        rules = [] if tag else client.list_alert_rules().rules
    whole: dict[str, Any] = {} if namespace == DEFAULT_NAMESPACE else {"namespace": namespace}
    if calendars:
        whole["calendars"] = [calendar_document(c) for c in calendars]
    whole["jobs"] = [job_document(j) for j in ordered(jobs)]
    if pipelines:
        whole["pipelines"] = [pipeline_document(p, defaults=False) for p in pipelines]
    documents = whole["jobs"]
    notes: list[str] = []
    if channels:
        whole["alert_channels"] = []
        for ch in channels:
            doc, left_out = channel_document(ch)
            whole["alert_channels"].append(doc)
            notes += [SECRET_NOTE.format(channel=ch.name, field=f) for f in left_out]
    if rules:
        whole["alert_rules"] = [rule_document(r) for r in rules]
    if as_json:
        text = json.dumps(whole, indent=2, ensure_ascii=False) + "\n"
        for note in notes:
            err().print(f"[yellow]{note}[/]", markup=True, soft_wrap=True)
    else:
        body = yaml.safe_dump(whole, sort_keys=False, allow_unicode=True, default_flow_style=False)
        comments = "".join(f"# {note}\n" for note in notes)
        text = HEADER.format(name=output or "FILE") + comments + body
    if output is None:
        typer.echo(text, nl=False)
        return
    try:
        Path(output).write_text(text, encoding="utf-8")
    except OSError as exc:
        fail(f"cannot write {output}: {exc.strerror or exc}")
    err().print(f"exported {len(documents)} job(s) to {output}")
