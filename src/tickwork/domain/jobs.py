"""Jobs: the spec a user writes, validated into tickwork's own frozen dataclasses."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal
from urllib.parse import urlsplit

from tickwork.domain.business import BusinessSchedule
from tickwork.domain.calendars import NAME_RE as CALENDAR_NAME_RE
from tickwork.domain.calendars import CalendarPolicy, CalendarSpec
from tickwork.domain.errors import ValidationError
from tickwork.domain.namespaces import (
    DEFAULT_NAMESPACE,
    NAMESPACE_RE,
    check_namespace,
    split_ref,
)
from tickwork.domain.quotas import RateLimit, check_rate_limit
from tickwork.domain.retry import RetryPolicy
from tickwork.domain.schedules import (
    Schedule,
    parse_duration,
    parse_schedule,
    validate_timezone,
)
from tickwork.domain.scheduling import jitter_offset
from tickwork.domain.secrets import invalid_reference, is_reference, refuse_new_references

JobType = Literal["python", "shell", "http"]
OnOverlap = Literal["skip", "queue", "allow", "cancel_previous"]
Catchup = Literal["latest", "all", "none"]
Isolation = Literal["pool", "process"]
Delivery = Literal["at_least_once", "at_most_once"]
DependOn = Literal["success", "failure", "done"]
TriggerRule = Literal["all", "any"]
DEPEND_ON: tuple[DependOn, ...] = ("success", "failure", "done")
TRIGGER_RULES: tuple[TriggerRule, ...] = ("all", "any")

NAME_RE = re.compile(r"^[A-Za-z0-9._-]{1,200}$")
FUNCTION_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$")
TAG_RE = re.compile(r"^[A-Za-z0-9._:/-]{1,64}$")
HTTP_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})


@dataclass(frozen=True, slots=True)
class HttpRequest:
    url: str
    method: str = "GET"
    headers: Mapping[str, Any] = field(default_factory=dict)  # str, or a secret reference
    body: Any = None
    timeout: float | None = None
    """Seconds the request may take (else the job's timeout): longer fails the attempt."""
    expect_status: tuple[int, ...] | None = None
    """The statuses that count as success (None: any 2xx)."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "url": self.url,
            "headers": dict(self.headers),
            "body": self.body,
            "timeout": self.timeout,
            "expect_status": list(self.expect_status) if self.expect_status else None,
        }


@dataclass(frozen=True, slots=True)
class Dependency:
    """One edge of the dependency graph: the upstream job and the outcome of its run that
    counts (domain/triggers.py says which final states are a ``failure``)."""

    job: str
    """A name, an id, or ``namespace/name``."""
    on: DependOn = "success"

    def as_json(self) -> str | dict[str, str]:
        """A plain name for an on-success edge (as before conditions), else an object."""
        return self.job if self.on == "success" else {"job": self.job, "on": self.on}


def dependency_of(value: str | Mapping[str, Any] | Dependency) -> Dependency:
    """A dependency from its stored or written form: a name (on success) or
    ``{"job": …, "on": …}``."""
    if isinstance(value, Dependency):
        return value
    if isinstance(value, str):
        return Dependency(value)
    return Dependency(job=value["job"], on=value.get("on") or "success")


@dataclass(frozen=True, slots=True)
class JobSpec:
    """Everything a user controls about a job, with the documented defaults."""

    name: str
    type: JobType
    function: str | None = None
    command: str | tuple[str, ...] | None = None
    """A shell job's command: a string run by ``/bin/sh -c``, or an argv (no shell)."""
    cwd: str | None = None
    """A shell job's working directory (absolute); else the worker's."""
    env: Mapping[str, Any] = field(default_factory=dict)
    """A shell job's extra environment: strings, or ``{"$secret": NAME}`` references."""
    request: HttpRequest | None = None
    parameters: Mapping[str, Any] = field(default_factory=dict)
    schedule: str | None = None
    timezone: str = "UTC"
    depends_on: tuple[Dependency, ...] = ()
    """The upstream jobs and the outcome of each that counts."""
    trigger_rule: TriggerRule = "all"
    """``all``: every dependency's condition must hold; ``any``: one is enough."""
    tags: tuple[str, ...] = ()
    worker_tags: tuple[str, ...] = ("default",)
    timeout: float = 3600.0
    retries: int = 3
    retry_delay: float = 1.0
    backoff: Literal["exponential", "fixed"] = "exponential"
    max_retry_delay: float = 300.0
    concurrency: int = 1
    on_overlap: OnOverlap = "skip"
    catchup: Catchup = "latest"
    start_deadline: float | None = None
    jitter: float = 0.0
    priority: int = 50
    isolation: Isolation = "pool"
    delivery: Delivery = "at_least_once"
    """``at_most_once``: a run whose attempt may have started is never started again."""
    enabled: bool = True
    description: str = ""
    retention_days: float | None = None
    """Keep finished runs this many days (else the server's limit); domain/retention.py."""
    retention_runs: int | None = None
    """Keep at most this many newest runs (older finished ones go sooner than their age)."""
    sla_finish_within: float | None = None
    """SLA: a run must finish this many seconds after its scheduled (or queued) time."""
    sla_max_duration: float | None = None
    """SLA: a run must not run longer than this many seconds."""
    expect_every: str | None = None
    """A dead man's switch: ``job.silent`` when no run succeeded within this duration."""
    namespace: str = DEFAULT_NAMESPACE
    """The namespace the job (its runs, dead letters and events) belongs to; fixed at creation."""
    calendar: str | None = None
    """A business calendar of the job's namespace, by name (domain/calendars.py)."""
    calendar_policy: CalendarPolicy = "skip"
    """What a tick on a non-business day does: ``skip`` it or move to the next business day."""
    rate_limit: RateLimit | None = None
    """At most ``max`` of its runs start in any ``per`` (domain/quotas.py); the rest wait."""

    @property
    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(
            retries=self.retries,
            delay=self.retry_delay,
            backoff=self.backoff,
            max_delay=self.max_retry_delay,
            at_most_once=self.delivery == "at_most_once",
        )

    def parsed_schedule(self) -> Schedule | None:
        return parse_schedule(self.schedule, self.timezone) if self.schedule else None

    def ticks(self, calendar: CalendarSpec | None = None) -> Schedule | BusinessSchedule | None:
        """The job's schedule, under ``calendar`` (the one it names) when given."""
        schedule = self.parsed_schedule()
        if schedule is None or calendar is None:
            return schedule
        return BusinessSchedule(schedule, calendar, self.calendar_policy)

    @property
    def route(self) -> str:
        """The worker tags a run needs, as one sorted key (see ``routes_for``)."""
        return route_key(self.worker_tags)


@dataclass(frozen=True, slots=True)
class Job:
    id: str
    spec: JobSpec
    created_at: datetime
    updated_at: datetime
    next_run: datetime | None = None
    status: str = "idle"
    last_run_at: datetime | None = None
    pipeline_id: str | None = None
    """The pipeline that owns the job (one of its tasks), changed only through it."""

    @property
    def name(self) -> str:
        return self.spec.name

    def with_spec(self, spec: JobSpec) -> Job:
        return replace(self, spec=spec)


def route_key(tags: tuple[str, ...] | list[str]) -> str:
    return ",".join(sorted(set(tags)))


MAX_WORKER_TAGS = 10


def routes_for(worker_tags: list[str] | tuple[str, ...]) -> list[str]:
    """Every route a worker with these tags can serve: the subsets of its tag set."""
    tags = sorted(set(worker_tags))
    if len(tags) > MAX_WORKER_TAGS:
        raise ValidationError("tags", f"a worker may have at most {MAX_WORKER_TAGS} tags")
    return [
        ",".join(t for i, t in enumerate(tags) if mask >> i & 1)
        for mask in range(1, 1 << len(tags))
    ]


def validate_spec(spec: JobSpec, *, now: datetime) -> JobSpec:
    """Check the rules no type system can express; return the normalised spec."""
    _check_name(spec.name)
    check_namespace(spec.namespace)
    _check_target(spec)
    _check_tags("tags", spec.tags)
    _check_tags("worker_tags", spec.worker_tags)
    if not spec.worker_tags:
        raise ValidationError("worker_tags", "at least one worker tag is needed to route runs")
    if len(spec.worker_tags) > MAX_WORKER_TAGS:
        raise ValidationError("worker_tags", f"at most {MAX_WORKER_TAGS} tags")
    _check_numbers(spec)
    validate_timezone(spec.timezone)
    if spec.schedule is not None:
        _check_schedule(spec, now)
    if spec.calendar is not None and not CALENDAR_NAME_RE.match(spec.calendar):
        raise ValidationError("calendar", f"'{spec.calendar}' is not a calendar name")
    if spec.calendar is None and spec.calendar_policy != "skip":
        raise ValidationError("calendar_policy", "applies only to a job that names a calendar")
    _check_dependencies(spec)
    return spec


def _check_dependencies(spec: JobSpec) -> None:
    for i, dep in enumerate(spec.depends_on):
        ns, name = split_ref(dep.job, spec.namespace)
        if not NAME_RE.match(name) or (ns != spec.namespace and not NAMESPACE_RE.match(ns)):
            raise ValidationError(
                "depends_on", f"'{dep.job}' is not a job name or id (or 'namespace/name')"
            )
        if dep.on not in DEPEND_ON:
            raise ValidationError(
                f"depends_on.{i}.on", f"'{dep.on}' is not one of {', '.join(DEPEND_ON)}"
            )
    if len({dep.job for dep in spec.depends_on}) != len(spec.depends_on):
        raise ValidationError("depends_on", "lists the same job twice")
    if spec.trigger_rule not in TRIGGER_RULES:
        raise ValidationError("trigger_rule", "must be 'all' or 'any'")


def _check_name(name: str) -> None:
    if not NAME_RE.match(name):
        raise ValidationError(
            "name", "must be 1 to 200 characters of letters, digits, '.', '_' or '-'"
        )
    if name.startswith(("job-", "run-")):
        raise ValidationError("name", "must not start with 'job-' or 'run-' (reserved for ids)")


def _check_target(spec: JobSpec) -> None:
    given = {k for k in ("function", "command", "request") if getattr(spec, k) is not None}
    needed = {"python": "function", "shell": "command", "http": "request"}[spec.type]
    if needed not in given:
        raise ValidationError(needed, f"is required for a {spec.type} job")
    for extra in sorted(given - {needed}):
        raise ValidationError(extra, f"does not apply to a {spec.type} job (it uses '{needed}')")
    if spec.function is not None and not FUNCTION_RE.match(spec.function):
        raise ValidationError("function", "must be a dotted path 'package.module.function'")
    if isinstance(spec.command, str) and not spec.command.strip():
        raise ValidationError("command", "must not be empty")
    if isinstance(spec.command, tuple) and (not spec.command or not spec.command[0]):
        raise ValidationError("command", "an argv list needs a program as its first item")
    _check_shell_setting(spec)
    if spec.request is not None:
        _check_request(spec.request)
    for field_name, value in (
        ("parameters", spec.parameters),
        ("request", spec.request.as_dict() if spec.request else None),
        ("env", dict(spec.env)),
    ):
        bad = invalid_reference(value)
        if bad is not None:
            raise ValidationError(field_name, f"'{bad}' is not a secret name (letters, digits, _)")


ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")


def _check_shell_setting(spec: JobSpec) -> None:
    """``cwd`` and ``env`` belong to shell jobs; names are variable names, never tickwork's."""
    for name, given in (("cwd", spec.cwd is not None), ("env", bool(spec.env))):
        if given and spec.type != "shell":
            raise ValidationError(name, "applies to shell jobs only")
    if spec.cwd is not None and not spec.cwd.startswith("/"):
        raise ValidationError("cwd", "must be an absolute path")
    for key, value in spec.env.items():
        if not ENV_NAME_RE.match(key):
            raise ValidationError(f"env.{key}", "is not a variable name (letters, digits, _)")
        if key.upper().startswith("TICKWORK_"):
            raise ValidationError(f"env.{key}", "TICKWORK_ variables are tickwork's own")
        if not isinstance(value, str) and not is_reference(value):
            raise ValidationError(f"env.{key}", 'must be a string or {"$secret": "NAME"}')


def _check_request(req: HttpRequest) -> None:
    if req.method.upper() not in HTTP_METHODS:
        raise ValidationError("request.method", f"'{req.method}' is not an HTTP method")
    for name, value in req.headers.items():
        if not isinstance(value, str) and not is_reference(value):
            raise ValidationError(
                f"request.headers.{name}", 'must be a string or {"$secret": "NAME"}'
            )
    parts = urlsplit(req.url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValidationError("request.url", "must be an absolute http:// or https:// URL")
    if req.timeout is not None and not req.timeout > 0:
        raise ValidationError("request.timeout", "must be more than 0 seconds")
    for code in req.expect_status or ():
        if not 100 <= code <= 599:
            raise ValidationError("request.expect_status", f"{code} is not an HTTP status")


def _check_tags(field_name: str, tags: tuple[str, ...]) -> None:
    for tag in tags:
        if not TAG_RE.match(tag):
            raise ValidationError(
                field_name, f"'{tag}' is not a tag (1 to 64 of A-Z a-z 0-9 . _ : / -)"
            )


def _check_numbers(spec: JobSpec) -> None:
    if spec.max_retry_delay < spec.retry_delay:
        raise ValidationError("max_retry_delay", "must not be smaller than retry_delay")
    if spec.isolation == "process" and spec.type != "python":
        raise ValidationError("isolation", "applies to python jobs only")
    if spec.retention_days is not None and not spec.retention_days > 0:
        raise ValidationError("retention_days", "must be more than 0 days")
    if spec.retention_runs is not None and spec.retention_runs < 1:
        raise ValidationError("retention_runs", "must keep at least 1 run")
    if spec.rate_limit is not None:
        check_rate_limit(spec.rate_limit, field="rate_limit")
    for name in ("sla_finish_within", "sla_max_duration"):
        value = getattr(spec, name)
        if value is not None and not value > 0:
            raise ValidationError(name.replace("sla_", "sla."), "must be more than 0 seconds")
    expect_every_seconds(spec)


def expect_every_seconds(spec: JobSpec) -> float | None:
    """The job's ``expect_every`` in seconds (ValidationError naming it when malformed)."""
    if spec.expect_every is None:
        return None
    try:
        return parse_duration(spec.expect_every).total_seconds()
    except ValidationError as exc:
        raise ValidationError("expect_every", exc.reason) from None


def _check_schedule(spec: JobSpec, now: datetime) -> None:
    schedule = parse_schedule(spec.schedule or "", spec.timezone)
    if schedule.kind == "once" and schedule.next_after(now) is None:
        raise ValidationError("schedule", "the one-time date is in the past")


def first_run(
    spec: JobSpec, *, job_id: str, now: datetime, calendar: CalendarSpec | None = None
) -> datetime | None:
    """The first fire time of a new, changed or resumed job (None without a schedule).

    The first nominal tick strictly after ``now`` (on a business day of ``calendar``, the
    one the job names, under its policy), plus the job's jitter offset: the first tick is
    jittered like every later one, so jobs created together do not fire together. A
    calendar that leaves no fire time raises NoBusinessDay (422 ``calendar``).
    """
    schedule = spec.ticks(calendar)
    if schedule is None or not spec.enabled:
        return None
    tick = schedule.next_after(now)
    return None if tick is None else tick + jitter_offset(job_id, spec.jitter)


def check_trigger_parameters(spec: JobSpec, parameters: Mapping[str, Any], *, field: str) -> None:
    """Parameters given when a run is queued may reuse the secrets the job references (in
    its parameters or request) but not name others (ValidationError at ``field``…)."""
    defined = (spec.parameters, spec.request.as_dict() if spec.request else None)
    refuse_new_references(parameters, defined=defined, field=field)


def check_stored_trigger_parameters(
    stored: Mapping[str, Any], parameters: Mapping[str, Any], *, field: str
) -> None:
    """``check_trigger_parameters`` against a job's stored spec (a JSON object), as the store
    reads it: the same rule without building a ``JobSpec``."""
    defined = (stored.get("parameters"), stored.get("request"))
    refuse_new_references(parameters, defined=defined, field=field)


def job_status(enabled: bool, last_run_status: str | None) -> str:
    if not enabled:
        return "paused"
    return last_run_status or "idle"
