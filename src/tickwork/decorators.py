"""Jobs as code: ``@tickwork.job(...)`` declares a python job next to its function.

    import tickwork

    @tickwork.job(schedule="0 9 * * *", timezone="Europe/Berlin", retries=2)
    def send_digest(recipients: list[str]) -> int: ...

The decorator returns the function unchanged and records a job spec (``type: python``,
``function: "<module>.<qualname>"``, ``name`` defaulting to the function name with ``_`` → ``-``,
and any other ``JobIn`` field) in a registry keyed by module. ``tickwork apply --module mypkg.jobs``
imports the module and syncs its jobs. Every such job carries the tag ``module:<module name>``:
it marks which module owns the job, so ``apply --module mypkg.jobs --prune`` deletes only jobs
that module created and no longer declares.

Fields are checked when the jobs are applied (against ``tickwork.schemas.jobs.JobIn``), so
importing a module of decorated functions costs nothing beyond the module itself.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any, TypeVar, overload

__all__ = ["OWNER_TAG_PREFIX", "job", "owner_tag", "registered_jobs"]

F = TypeVar("F", bound=Callable[..., Any])

OWNER_TAG_PREFIX = "module:"
_RESERVED = frozenset({"type", "function", "command", "request"})
_REGISTRY: dict[str, dict[str, dict[str, Any]]] = {}
"""module name → job name → spec (JobIn fields)."""


def owner_tag(module: str) -> str:
    """The tag marking jobs declared in ``module``: ``module:<module name>``."""
    return f"{OWNER_TAG_PREFIX}{module}"


@overload
def job(schedule: F, /) -> F: ...
@overload
def job(
    schedule: str | None = None, /, *, name: str | None = None, **fields: Any
) -> Callable[[F], F]: ...
def job(
    schedule: str | F | None = None, /, *, name: str | None = None, **fields: Any
) -> F | Callable[[F], F]:
    """Declare the decorated module-level function as a tickwork python job.

    ``schedule`` is a cron expression, an interval or an ISO datetime (none: the job runs only
    when triggered or after its ``depends_on``, as their conditions say); ``name`` defaults to
    the function name with ``_`` → ``-``; any other keyword is a job field (``timezone``,
    ``retries``, ``depends_on``, ``parameters``, ``tags`` …). Also usable bare:
    ``@tickwork.job``.
    """
    if callable(schedule):
        return _register(schedule, None, None, {})
    bad = sorted(_RESERVED & fields.keys())
    if bad:
        raise TypeError(f"@tickwork.job declares python jobs; it does not take {', '.join(bad)}")

    def decorate(fn: F) -> F:
        return _register(fn, schedule, name, fields)

    return decorate


def _register(fn: F, schedule: str | None, name: str | None, fields: dict[str, Any]) -> F:
    module, qualname = fn.__module__, fn.__qualname__
    if "<locals>" in qualname or "<lambda>" in qualname:
        raise TypeError(f"@tickwork.job needs a module-level function, not {qualname}")
    spec: dict[str, Any] = {
        "name": name or fn.__name__.replace("_", "-"),
        "type": "python",
        "function": f"{module}.{qualname}",
        **({"schedule": schedule} if schedule is not None else {}),
        **fields,
    }
    tags = [str(t) for t in fields.get("tags", [])]
    spec["tags"] = [*tags, owner_tag(module)] if owner_tag(module) not in tags else tags
    jobs = _REGISTRY.setdefault(module, {})
    previous = jobs.get(spec["name"])
    if previous is not None and previous["function"] != spec["function"]:
        raise ValueError(
            f"job name {spec['name']!r} is declared twice in {module}: "
            f"{previous['function']} and {spec['function']}"
        )
    jobs[spec["name"]] = spec
    return fn


def registered_jobs(module: str) -> list[dict[str, Any]]:
    """The job specs the already imported ``module`` declared, in declaration order."""
    return [copy.deepcopy(spec) for spec in _REGISTRY.get(module, {}).values()]
