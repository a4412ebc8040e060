"""One-off runs: a run queued with its own inline definition, no job defined first.

The definition is a job spec without what only a job that lives on needs (a schedule and its
timezone, calendar and jitter, dependencies, overlap and catch-up policies, concurrency,
retention, SLAs, a rate limit). It is kept as a hidden job row named by the run's id (so the
run path reads it like any job's) and shown with the run, never with the jobs; it goes with
its run. ``label`` is the caller's optional name for the run (the spec's ``name``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from tickwork.domain import ids
from tickwork.domain.errors import ValidationError
from tickwork.domain.jobs import JobSpec, validate_spec
from tickwork.domain.secrets import reference_fields

JOB_ONLY: dict[str, tuple[str, ...]] = {
    "schedule": ("schedule",),
    "timezone": ("timezone",),
    "depends_on": ("depends_on",),
    "calendar": ("calendar",),
    "calendar_policy": ("calendar_policy",),
    "on_overlap": ("on_overlap",),
    "catchup": ("catchup",),
    "concurrency": ("concurrency",),
    "jitter": ("jitter",),
    "enabled": ("enabled",),
    "retention_days": ("retention_days",),
    "retention_runs": ("retention_runs",),
    "rate_limit": ("rate_limit",),
    "sla": ("sla_finish_within", "sla_max_duration"),
    "expect_every": ("expect_every",),
}
"""Job fields a one-off run refuses (422 naming the field), each with the spec fields it
sets: they describe a job over time, not one run."""

UNNAMED = "one-off"
"""The name a label-less spec is checked under (a run id would fail the name rule)."""

_SCHEDULING = frozenset(
    {"schedule", "timezone", "calendar", "calendar_policy", "jitter", "catchup"}
)


def job_only_reason(field: str) -> str:
    """Why a one-off run refuses ``field`` (a key of ``JOB_ONLY``)."""
    if field in _SCHEDULING:
        return (
            "a one-off run has no schedule: it is queued once, now; create a job "
            "(POST /api/jobs) for runs on a schedule"
        )
    if field == "depends_on":
        return "a one-off run has no dependencies; create jobs for a dependency graph"
    return "applies to jobs, not to a one-off run"


@dataclass(frozen=True, slots=True)
class OneOff:
    """A one-off run to queue: its id (also its hidden job's name), its definition and the
    idempotency key it was asked with (None: none)."""

    run_id: str
    spec: JobSpec
    idempotency_key: str | None = None

    @property
    def label(self) -> str | None:
        return None if self.spec.name == self.run_id else self.spec.name


def one_off_run_id(namespace: str, idempotency_key: str | None) -> str:
    """A fresh run id; with a key, the one id that key has in the namespace (a repeat names
    the same run, which the database's uniqueness of ids and job names then enforces)."""
    if idempotency_key is None:
        return ids.run_id()
    return ids.derived_id("run", f"{namespace}\x1f{idempotency_key}")


def one_off(
    spec: JobSpec, *, label: str | None, idempotency_key: str | None, now: datetime
) -> OneOff:
    """The checked one-off run of ``spec`` (its ``name`` ignored: ``label`` names it, else
    its run id). Its hidden job lets its one run start alongside any other (``allow``) and
    never fires by itself (no schedule)."""
    defaults = JobSpec(name=UNNAMED, type=spec.type)
    for wire, fields in JOB_ONLY.items():
        if any(getattr(spec, f) != getattr(defaults, f) for f in fields):
            raise ValidationError(wire, job_only_reason(wire))
    checked = validate_spec(replace(spec, name=label or UNNAMED), now=now)
    run_id = one_off_run_id(checked.namespace, idempotency_key)
    hidden = replace(checked, name=label or run_id, on_overlap="allow")
    return OneOff(run_id=run_id, spec=hidden, idempotency_key=idempotency_key)


def secret_fields(spec: JobSpec) -> list[tuple[str, str]]:
    """(field, secret name) of every secret the definition references: naming one needs
    admin in the namespace, as defining a job does (an operator could otherwise have a
    worker print any secret it allows)."""
    request = spec.request.as_dict() if spec.request else None
    return [
        *reference_fields(dict(spec.parameters), "parameters"),
        *reference_fields(dict(spec.env), "env"),
        *reference_fields(request, "request"),
    ]
