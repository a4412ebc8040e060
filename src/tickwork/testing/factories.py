"""Small factories for jobs, as domain specs and as API payloads."""

from __future__ import annotations

from itertools import count
from typing import Any

from tickwork.domain.jobs import JobSpec, dependency_of

_seq = count(1)


def _name(prefix: str) -> str:
    return f"{prefix}-{next(_seq)}"


def job_spec(name: str | None = None, **fields: Any) -> JobSpec:
    """A valid shell job spec; override any field."""
    base: dict[str, Any] = {"name": name or _name("job"), "type": "shell", "command": "true"}
    base.update(fields)
    if base["type"] != "shell":
        base.pop("command", None) if "command" not in fields else None
    for key in ("tags", "worker_tags"):
        if key in base:
            base[key] = tuple(base[key])
    if "depends_on" in base:  # names (on success), {"job", "on"} objects or Dependency
        base["depends_on"] = tuple(dependency_of(d) for d in base["depends_on"])
    return JobSpec(**base)


def job_payload(name: str | None = None, **fields: Any) -> dict[str, Any]:
    """A valid JSON body for POST /api/jobs; override any field."""
    body: dict[str, Any] = {"name": name or _name("job"), "type": "shell", "command": "true"}
    body.update(fields)
    if body["type"] != "shell" and "command" not in fields:
        body.pop("command")
    return body
