"""Job files (YAML or JSON): read them and check every job locally before anything is sent.

A file holds ``jobs: [ {name: …, type: …, …}, … ]``, a top-level list of jobs, or one job.
Each job is checked with the API's own model (``JobIn``) and then with the domain rules the
server applies (cron expressions, targets, tags …); every problem is reported with the job and
the field at fault, so a bad file changes nothing.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pydantic
import yaml

from tickwork.domain.calendars import validate_calendar
from tickwork.domain.errors import TickworkError
from tickwork.domain.errors import ValidationError as DomainValidationError
from tickwork.domain.jobs import validate_spec
from tickwork.domain.namespaces import DEFAULT_NAMESPACE
from tickwork.domain.pipelines import validate_pipeline
from tickwork.schemas.calendars import CalendarIn
from tickwork.schemas.jobs import JobIn
from tickwork.schemas.pipelines import PipelineIn

__all__ = [
    "ApplyFile",
    "JobFileError",
    "job_documents",
    "read_apply_file",
    "read_job_file",
    "validate_calendars",
    "validate_jobs",
    "validate_pipelines",
]


class JobFileError(Exception):
    """The file cannot be used; ``problems`` lists every reason, one line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class ApplyFile:
    jobs: list[JobIn]
    calendars: list[CalendarIn]
    data: Any = None
    """The loaded document (its other sections, such as ``alert_channels:``, are read by
    their own modules)."""
    pipelines: list[PipelineIn] = field(default_factory=list)


def read_job_file(path: str) -> list[JobIn]:
    """Every job in the file at ``path`` (``-``: standard input), checked."""
    return read_apply_file(path).jobs


def read_apply_file(path: str) -> ApplyFile:
    """The jobs and the business calendars (``calendars:`` beside ``jobs:``) of the file at
    ``path``, every one checked; all the problems of both in one ``JobFileError``."""
    data = _load(path)
    problems: list[str] = []
    jobs: list[JobIn] = []
    calendars: list[CalendarIn] = []
    try:
        jobs = validate_jobs(job_documents(data, path))
    except JobFileError as exc:
        problems += exc.problems
    try:
        calendars = validate_calendars(calendar_documents(data, path))
    except JobFileError as exc:
        problems += exc.problems
    pipelines: list[PipelineIn] = []
    try:
        pipelines = validate_pipelines(section_documents(data, path, "pipelines"))
    except JobFileError as exc:
        problems += exc.problems
    if problems:
        raise JobFileError(problems)
    return ApplyFile(jobs, calendars, data, pipelines)


def section_documents(data: Any, source: str, section: str) -> list[Any]:
    """The mappings of a loaded file's ``section:`` list, in the file's ``namespace:``; none
    for a file without one."""
    if not isinstance(data, dict) or section not in data:
        return []
    found = data[section] or []
    if not isinstance(found, list):
        raise JobFileError([f"{source}: {section}: expected a list"])
    namespace = data.get("namespace")
    if namespace is None:
        return found
    return [{"namespace": namespace, **doc} if isinstance(doc, dict) else doc for doc in found]


def validate_pipelines(documents: Iterable[Any]) -> list[PipelineIn]:
    """Check every pipeline with the API's model and the domain's rules (its tasks' jobs,
    its graph)."""
    pipelines: list[PipelineIn] = []
    problems: list[str] = []
    seen: set[str] = set()
    for index, doc in enumerate(documents):
        label = f"pipelines[{index}]"
        if not isinstance(doc, dict):
            problems.append(f"{label}: a pipeline must be a mapping of fields")
            continue
        label += f" ({doc.get('name')})" if isinstance(doc.get("name"), str) else ""
        try:
            pipeline = PipelineIn.model_validate(doc)
            validate_pipeline(pipeline.to_spec(), now=datetime.now(UTC))
        except pydantic.ValidationError as exc:
            problems += [f"{label}: {_field(e['loc'])}: {_message(e)}" for e in exc.errors()]
            continue
        except DomainValidationError as exc:
            problems.append(f"{label}: {exc.field}: {exc.reason}")
            continue
        if pipeline.name in seen:
            problems.append(f"{label}: name: {pipeline.name!r} is declared twice")
        seen.add(pipeline.name)
        pipelines.append(pipeline)
    if problems:
        raise JobFileError(problems)
    return pipelines


def calendar_documents(data: Any, source: str) -> list[Any]:
    """The calendar mappings of a loaded file (its ``calendars:`` list, in the file's
    ``namespace:``); none for a file without one."""
    if not isinstance(data, dict) or "calendars" not in data:
        return []
    found = data["calendars"] or []
    if not isinstance(found, list):
        raise JobFileError([f"{source}: calendars: expected a list of calendars"])
    namespace = data.get("namespace")
    if namespace is None:
        return found
    return [{"namespace": namespace, **doc} if isinstance(doc, dict) else doc for doc in found]


def validate_calendars(documents: Iterable[Any]) -> list[CalendarIn]:
    """Check every calendar with the API's model and the domain's rules."""
    calendars: list[CalendarIn] = []
    problems: list[str] = []
    seen: set[str] = set()
    for index, doc in enumerate(documents):
        label = f"calendars[{index}]"
        if not isinstance(doc, dict):
            problems.append(f"{label}: a calendar must be a mapping of fields")
            continue
        label += f" ({doc.get('name')})" if isinstance(doc.get("name"), str) else ""
        try:
            calendar = CalendarIn.model_validate(doc)
            validate_calendar(calendar.to_spec())
        except pydantic.ValidationError as exc:
            problems += [f"{label}: {_field(e['loc'])}: {_message(e)}" for e in exc.errors()]
            continue
        except DomainValidationError as exc:
            problems.append(f"{label}: {exc.field}: {exc.reason}")
            continue
        if calendar.name in seen:
            problems.append(f"{label}: name: {calendar.name!r} is declared twice")
        seen.add(calendar.name)
        calendars.append(calendar)
    if problems:
        raise JobFileError(problems)
    return calendars


def _load(path: str) -> Any:
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise JobFileError([f"{path}: {exc.strerror or exc}"]) from exc
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise JobFileError([f"{path}: not valid YAML: {exc}"]) from exc


def job_documents(data: Any, source: str) -> list[Any]:
    """The job mappings of a loaded file: ``{"jobs": [...]}`` (with ``namespace:`` beside it,
    the namespace of every job that names none, ``calendars:``, ``alert_channels:`` and
    ``alert_rules:``), ``[...]`` or one job."""
    sections = {"calendars", "alert_channels", "alert_rules", "pipelines"}
    if isinstance(data, dict) and "jobs" not in data and sections & set(data):
        data = {**data, "jobs": []}
    if isinstance(data, dict) and "jobs" in data:
        extra = sorted(set(data) - {"jobs", "namespace", *sections})
        if extra:
            raise JobFileError([f"{source}: unknown top-level key(s): {', '.join(extra)}"])
        namespace = data.get("namespace")
        data = data["jobs"]
        if namespace is not None and isinstance(data, list):
            data = [
                {"namespace": namespace, **doc} if isinstance(doc, dict) else doc for doc in data
            ]
    elif isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        raise JobFileError([f"{source}: expected `jobs: [...]`, a list of jobs or one job"])
    return data


def validate_jobs(documents: Iterable[Any]) -> list[JobIn]:
    """Check every job; raise ``JobFileError`` listing all problems if any has one."""
    jobs: list[JobIn] = []
    problems: list[str] = []
    seen: dict[str, str] = {}
    for index, doc in enumerate(documents):
        label = _label(index, doc)
        job, found = _check(doc, label)
        problems += found
        if job is None:
            continue
        if job.name in seen:
            problems.append(f"{label}: name: {job.name!r} is already used by {seen[job.name]}")
        seen.setdefault(job.name, label)
        jobs.append(job)
    spaces = sorted({j.namespace or DEFAULT_NAMESPACE for j in jobs})
    if len(spaces) > 1:
        problems.append(f"namespace: one namespace per file, not {', '.join(spaces)}")
    if problems:
        raise JobFileError(problems)
    return jobs


def file_namespace(jobs: Iterable[JobIn]) -> str | None:
    """The namespace the jobs name (a file holds one), or None when none names one."""
    return next((j.namespace for j in jobs if j.namespace), None)


def _label(index: int, doc: Any) -> str:
    name = doc.get("name") if isinstance(doc, dict) else None
    return f"jobs[{index}] ({name})" if isinstance(name, str) and name else f"jobs[{index}]"


def _check(doc: Any, label: str) -> tuple[JobIn | None, list[str]]:
    if not isinstance(doc, dict):
        return None, [f"{label}: a job must be a mapping of fields, not {type(doc).__name__}"]
    try:
        job = JobIn.model_validate(doc)
    except pydantic.ValidationError as exc:
        return None, [f"{label}: {_field(e['loc'])}: {_message(e)}" for e in exc.errors()]
    try:
        validate_spec(job.to_spec(), now=datetime.now(UTC))
    except DomainValidationError as exc:
        return None, [f"{label}: {exc.field}: {exc.reason}"]
    except TickworkError as exc:
        return None, [f"{label}: {exc.message}"]
    return job, []


def _field(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc) or "job"


def _message(error: Any) -> str:
    if error["type"] == "extra_forbidden":
        return "unknown field"
    if error["type"] == "missing":
        return "is required"
    return str(error["msg"])
