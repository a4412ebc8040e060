"""`tickwork submit`: queue a one-off run of an inline definition (POST /api/runs).

The definition comes from options (``--type shell --command "…"``) or from a file holding
one job as ``tickwork apply`` reads it (``-f job.yaml``; its ``name`` labels the run), with
options over the file's fields (``--param`` and ``--env`` merged over its own). A schedule or
another field that only a job has is refused before anything is sent. ``--follow`` streams
the run's output until it ends and exits with its outcome (0 completed, 1 otherwise).
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import pydantic
import typer
import yaml

from tickwork.cli import logs
from tickwork.cli.common import (
    EXIT_BAD_INPUT,
    JsonOpt,
    ServerOpt,
    TokenOpt,
    err,
    fail,
    out,
    print_json,
    session,
)
from tickwork.cli.jobfile import JobFileError, job_documents
from tickwork.cli.jobs import _parameters
from tickwork.domain.errors import ValidationError as DomainValidationError
from tickwork.domain.oneoff import one_off
from tickwork.schemas.oneoff import RunSubmitIn


def submit(
    file: Annotated[
        str | None,
        typer.Option(
            "--file", "-f", help="A YAML or JSON file holding one job (- = stdin); no schedule."
        ),
    ] = None,
    type_: Annotated[
        str | None, typer.Option("--type", "-t", help="python, shell or http.")
    ] = None,
    command: Annotated[
        str | None, typer.Option(help="shell: the command (run by /bin/sh -c).")
    ] = None,
    function: Annotated[str | None, typer.Option(help="python: 'package.module.function'.")] = None,
    url: Annotated[str | None, typer.Option(help="http: the URL.")] = None,
    method: Annotated[str | None, typer.Option(help="http: the method \\[default: GET].")] = None,
    param: Annotated[
        list[str] | None,
        typer.Option("--param", "-p", help="key=value (value read as JSON if it parses)."),
    ] = None,
    params: Annotated[str | None, typer.Option(help="Parameters as a JSON object.")] = None,
    env: Annotated[list[str] | None, typer.Option("--env", "-e", help="shell: NAME=value.")] = None,
    cwd: Annotated[str | None, typer.Option(help="shell: the working directory.")] = None,
    timeout: Annotated[float | None, typer.Option(help="Seconds \\[default: 3600].")] = None,
    retries: Annotated[
        int | None, typer.Option(help="Retries after a failure \\[default: 3].")
    ] = None,
    tag: Annotated[list[str] | None, typer.Option("--tag", help="A tag (repeat).")] = None,
    worker_tag: Annotated[
        list[str] | None,
        typer.Option("--worker-tag", help="A tag a worker needs to run it (repeat)."),
    ] = None,
    priority: Annotated[int | None, typer.Option(help="0-100 \\[default: 50].")] = None,
    name: Annotated[str | None, typer.Option(help="A label shown with the run.")] = None,
    namespace: Annotated[
        str | None, typer.Option("--namespace", help="The run's namespace.")
    ] = None,
    idempotency_key: Annotated[
        str | None, typer.Option(help="The same key returns the same run.")
    ] = None,
    follow: Annotated[
        bool, typer.Option("--follow", help="Stream its output; exit with its outcome.")
    ] = False,
    server: ServerOpt = None,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Queue a one-off run: a job's definition inline, run once, now, no job defined."""
    body = _from_file(file) if file else {}
    request = dict(body.get("request") or {})
    if url is not None or method is not None:
        request = {**request, **_given(url=url, method=method)}
    body.update(
        _given(
            type=type_,
            command=command,
            function=function,
            request=request or None,
            cwd=cwd,
            timeout=timeout,
            retries=retries,
            tags=tag,
            worker_tags=worker_tag,
            priority=priority,
            name=name,
            namespace=namespace,
            idempotency_key=idempotency_key,
        )
    )
    extra = _parameters(params, param or [])
    if extra:
        body["parameters"] = {**(body.get("parameters") or {}), **extra}
    if env:
        body["env"] = {**(body.get("env") or {}), **_pairs(env, "--env")}
    definition = _checked(body, file or "options")
    with session(server, token) as client:
        run = client.submit(definition)
        if not as_json:
            label = f" ({run.job_name})" if run.job_name != run.id else ""
            err().print(f"{run.status} {run.id}{label}")
        if follow:
            raise typer.Exit(logs.follow(client, run.id, as_json=as_json))
    if as_json:
        print_json(run)
    else:
        out().print(run.id)


def _given(**values: Any) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def _pairs(pairs: list[str], option: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            fail(f"{option} {pair!r}: expected NAME=value", EXIT_BAD_INPUT)
        values[key] = value
    return values


def _from_file(path: str) -> dict[str, Any]:
    """The one job of an apply file, as the body of a submission (its name: the label)."""
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
        docs = job_documents(yaml.safe_load(text), path)
    except OSError as exc:
        fail(f"{path}: {exc.strerror or exc}", EXIT_BAD_INPUT)
    except yaml.YAMLError as exc:
        fail(f"{path}: not valid YAML: {exc}", EXIT_BAD_INPUT)
    except JobFileError as exc:
        fail("; ".join(exc.problems), EXIT_BAD_INPUT)
    if len(docs) != 1 or not isinstance(docs[0], dict):
        fail(f"{path} holds {len(docs)} jobs; submit runs one", EXIT_BAD_INPUT)
    return dict(docs[0])


def _checked(body: dict[str, Any], source: str) -> RunSubmitIn:
    """The submission checked as the server will (exit 2 naming every field at fault)."""
    if "type" not in body:
        fail(f"{source}: type: is required (--type python|shell|http)", EXIT_BAD_INPUT)
    try:
        definition = RunSubmitIn.model_validate(body)
        one_off(
            definition.to_spec(), label=definition.name, idempotency_key=None, now=datetime.now(UTC)
        )
    except pydantic.ValidationError as exc:
        problems = [f"{_field(e['loc'])}: {_why(e)}" for e in exc.errors()]
        fail(f"{source}: " + "; ".join(problems), EXIT_BAD_INPUT)
    except DomainValidationError as exc:
        fail(f"{source}: {exc.field}: {exc.reason}", EXIT_BAD_INPUT)
    return definition


def _field(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc) or "body"


def _why(error: Any) -> str:
    if error["type"] == "extra_forbidden":
        return "unknown field"
    if error["type"] == "missing":
        return "is required"
    return str(error["msg"])
