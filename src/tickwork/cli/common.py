"""What every client command shares: the --server/--token/--json options, one client per
command, error messages, JSON output and the Rich consoles."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any, NoReturn

import typer
from pydantic import BaseModel
from rich.console import Console

from tickwork.client import (
    ApiError,
    AuthError,
    Client,
    ClientError,
    ForbiddenError,
    UnreachableError,
    ValidationError,
)
from tickwork.client.core import default_server
from tickwork.domain.namespaces import NAMESPACE_RE, NAMESPACE_RULE

__all__ = [
    "JsonOpt",
    "ServerOpt",
    "TokenOpt",
    "YesOpt",
    "confirm",
    "err",
    "fail",
    "out",
    "print_json",
    "session",
]

ServerOpt = Annotated[
    str | None,
    typer.Option(
        "--server",
        envvar="TICKWORK_SERVER",
        show_default=False,
        help="Coordinator URL [default: http://127.0.0.1:8000].",
    ),
]
TokenOpt = Annotated[
    str | None,
    typer.Option("--token", envvar="TICKWORK_TOKEN", show_default=False, help="API token."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON (for scripts).")]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]

EXIT_FAILED = 1
"""An API error, an unreachable coordinator, or a run that did not complete."""
EXIT_BAD_INPUT = 2
"""A bad job file or argument, found before anything was sent."""


def out() -> Console:
    """Standard output (tables, results); made per use so redirections are honoured."""
    return Console(highlight=False)


def err() -> Console:
    """Standard error (progress, errors, prompts)."""
    return Console(stderr=True, highlight=False)


def fail(message: str, code: int = EXIT_FAILED) -> NoReturn:
    err().print(f"[bold red]error:[/] {message}", markup=True, soft_wrap=True)
    raise typer.Exit(code)


def print_json(data: Any) -> None:
    """One JSON document on stdout: models as the API sends them."""
    sys.stdout.write(json.dumps(_plain(data), indent=2, ensure_ascii=False) + "\n")


def _plain(data: Any) -> Any:
    if isinstance(data, BaseModel):
        return data.model_dump(mode="json")
    if isinstance(data, list | tuple):
        return [_plain(item) for item in data]
    if isinstance(data, dict):
        return {k: _plain(v) for k, v in data.items()}
    return data


class Chosen:
    """The namespace ``tickwork --namespace`` (or TICKWORK_NAMESPACE) chose for this command;
    None: ``default``."""

    namespace: str | None = None


def choose_namespace(namespace: str | None) -> None:
    """Set this command's namespace, checked (exit 2 naming it when it is no namespace)."""
    if namespace is not None and not NAMESPACE_RE.match(namespace):
        fail(f"--namespace {namespace!r}: {NAMESPACE_RULE}", EXIT_BAD_INPUT)
    Chosen.namespace = namespace


@contextmanager
def session(
    server: str | None, token: str | None, *, namespace: str | None = None
) -> Iterator[Client]:
    """A client for one command, in ``namespace`` (else the one chosen with --namespace);
    API and connection errors become one-line messages."""
    url = server or default_server()
    try:
        with Client(url, token, namespace=namespace or Chosen.namespace) as client:
            yield client
    except ClientError as exc:
        fail(describe(exc, url))


def describe(exc: ClientError, url: str) -> str:
    """One line a person can act on."""
    if isinstance(exc, UnreachableError):
        return (
            f"cannot reach the coordinator at {url} ({exc}); is it running? "
            "Set TICKWORK_SERVER or pass --server"
        )
    if not isinstance(exc, ApiError):
        return str(exc)
    line = f"{exc.status} {exc.code}: {_message(exc)}"
    if isinstance(exc, ForbiddenError):
        return f"{line} (use a token with more rights: set TICKWORK_TOKEN or pass --token)"
    if isinstance(exc, AuthError):
        return f"{line} (set TICKWORK_TOKEN or pass --token with an API token)"
    if isinstance(exc.details, dict) and "dependents" in exc.details:
        return f"{line} (in the CLI: --force)"
    if exc.status == 503 and exc.code == "unavailable":
        wait = f"{exc.retry_after:g} s" if exc.retry_after else "a few seconds"
        return (
            f"{line} (the coordinator at {url} is up but cannot reach its database; "
            f"try again in {wait})"
        )
    return line


def _message(exc: ApiError) -> str:
    if isinstance(exc, ValidationError) and exc.fields:
        return "; ".join(f"{f.field}: {f.message}" for f in exc.fields)
    return exc.message


def confirm(question: str, *, yes: bool) -> None:
    """Ask on a terminal (unless ``yes``); stop with exit code 1 on "no"."""
    if yes or not sys.stdin.isatty():
        return
    if not typer.confirm(question, default=False, err=True):
        err().print("nothing changed")
        raise typer.Exit(EXIT_FAILED)
