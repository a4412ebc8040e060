"""``tickwork apply``'s plan: what to create, update, leave alone and delete, and in what order.

- **Compared**: every field of ``JobIn`` except ``name`` and ``namespace`` (the identity: a
  plan is made within one namespace), with the defaults the
  file leaves out filled in, so a job the file created compares equal when read back. Tags,
  worker tags and dependencies compare as sets (dependencies by name, ids resolved, with
  their condition: a plain name is ``on: success``). ``enabled``
  compares only when the file sets it: pausing is an operator's act that apply leaves alone.
- **Order**: creates and updates in dependency order (``topological_order`` of the file's jobs:
  a job's dependencies exist before it does); deletes afterwards, dependents first.
- **Checked before any change**: unknown dependencies, cycles in the resulting graph,
  pruned jobs that a remaining job still depends on, and jobs that are a pipeline's tasks
  (they change only through their pipeline, ``pipelines:``).
- **Prune scope**: ``-f`` may delete jobs not in the file, except jobs a module owns (tag
  ``module:…``); ``--module m`` may delete only jobs tagged ``module:m``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from tickwork.client import Client, NotFoundError
from tickwork.decorators import OWNER_TAG_PREFIX, owner_tag
from tickwork.domain.dag import dependents_of, find_cycle, topological_order
from tickwork.schemas.jobs import JobIn, JobOut, dependency_ref

__all__ = [
    "COMPARED",
    "FieldChange",
    "Plan",
    "PlanError",
    "PruneScope",
    "ServerState",
    "Step",
    "fetch_state",
    "make_plan",
]

Action = Literal["create", "update", "unchanged", "delete"]
COMPARED: tuple[str, ...] = tuple(f for f in JobIn.model_fields if f not in ("name", "namespace"))
_SETS = ("depends_on", "tags", "worker_tags")


class PlanError(Exception):
    """The jobs cannot be applied as they are; ``problems`` says why, one line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class FieldChange:
    field: str
    old: Any
    new: Any


@dataclass(frozen=True, slots=True)
class Step:
    action: Action
    name: str
    body: dict[str, Any] | None = None
    """What a create (POST) or an update (PUT) sends."""
    changes: tuple[FieldChange, ...] = ()


@dataclass(frozen=True, slots=True)
class Plan:
    steps: tuple[Step, ...]
    """In the order they run: creates/updates (dependencies first), then deletes."""

    def of(self, action: Action) -> list[Step]:
        return [s for s in self.steps if s.action == action]

    @property
    def changes(self) -> list[Step]:
        return [s for s in self.steps if s.action != "unchanged"]

    def counts(self) -> dict[str, int]:
        return {a: len(self.of(a)) for a in ("create", "update", "unchanged", "delete")}

    def as_json(self) -> dict[str, Any]:
        return {
            "create": [s.name for s in self.of("create")],
            "update": [
                {
                    "name": s.name,
                    "changes": {c.field: {"old": c.old, "new": c.new} for c in s.changes},
                }
                for s in self.of("update")
            ],
            "unchanged": [s.name for s in self.of("unchanged")],
            "delete": [s.name for s in self.of("delete")],
        }


@dataclass(frozen=True, slots=True)
class PruneScope:
    """Which server jobs ``--prune`` may delete when the jobs declared no longer name them."""

    module: str | None = None

    def owns(self, job: JobOut) -> bool:
        if self.module is not None:
            return owner_tag(self.module) in job.tags
        return not any(tag.startswith(OWNER_TAG_PREFIX) for tag in job.tags)

    def describe(self) -> str:
        if self.module is not None:
            return f"jobs tagged {owner_tag(self.module)}"
        return f"jobs without a {OWNER_TAG_PREFIX}… tag"


@dataclass(slots=True)
class ServerState:
    jobs: dict[str, JobOut] = field(default_factory=dict)
    """By name: the declared jobs that exist, their outside dependencies (and with prune: all)."""
    edges: dict[str, list[str]] = field(default_factory=dict)
    """The whole dependency graph on the server: job name → names it depends on."""

    def name_of(self, ref: str) -> str | None:
        if ref in self.jobs:
            return ref
        return next((j.name for j in self.jobs.values() if j.id == ref), None)


def fetch_state(client: Client, jobs: Iterable[JobIn], *, prune: bool) -> ServerState:
    """What the plan needs from the server: every job with ``prune``, else only those named."""
    state = ServerState()
    if prune:  # a pipeline's task jobs are its own: never pruned as jobs
        state.jobs = {j.name: j for j in client.iter_jobs() if j.pipeline_id is None}
    else:
        for ref in _refs(jobs):
            try:
                found = client.get_job(ref)
            except NotFoundError:
                continue
            state.jobs[found.name] = found
    for edge in client.dag().edges:
        state.edges.setdefault(edge.target, []).append(edge.source)
    return state


def _refs(jobs: Iterable[JobIn]) -> list[str]:
    refs: dict[str, None] = {}
    for job in jobs:
        refs[job.name] = None
        refs.update(dict.fromkeys(dependency_ref(d)[0] for d in job.depends_on))
    return list(refs)


def make_plan(jobs: list[JobIn], state: ServerState, *, prune: bool, scope: PruneScope) -> Plan:
    """Compare, check and order; raise ``PlanError`` before anything would change."""
    names = {j.name for j in jobs}
    deps, problems = _resolve_deps(jobs, names, state)
    problems += [
        f"{n}: is a task of a pipeline; it changes only through its pipeline (pipelines:)"
        for n in sorted(names)
        if (found := state.jobs.get(n)) is not None and found.pipeline_id is not None
    ]
    pruned = _pruned(state, names, scope) if prune else []
    problems += _graph_problems(state, deps, pruned)
    if problems:
        raise PlanError(problems)
    by_name = {j.name: j for j in jobs}
    order = [n for n in topological_order({n: set(deps[n]) & names for n in names}) if n in names]
    upserts = [_upsert(by_name[n], deps[n], state.jobs.get(n)) for n in order]
    return Plan(tuple(upserts + _deletes(state, pruned)))


Deps = dict[str, str]
"""A job's dependencies by name, each with its condition."""


def _resolve_deps(
    jobs: list[JobIn], names: set[str], state: ServerState
) -> tuple[dict[str, Deps], list[str]]:
    deps: dict[str, Deps] = {}
    problems: list[str] = []
    for job in jobs:
        resolved: Deps = {}
        for ref, on in map(dependency_ref, job.depends_on):
            name = ref if ref in names else state.name_of(ref)
            if name is None:
                problems.append(
                    f"{job.name}: depends_on: unknown job {ref!r} (not declared, not on the server)"
                )
            else:
                resolved[name] = on
        deps[job.name] = resolved
    return deps, problems


def _pruned(state: ServerState, names: set[str], scope: PruneScope) -> list[str]:
    return sorted(n for n, j in state.jobs.items() if n not in names and scope.owns(j))


def _graph_problems(state: ServerState, deps: Mapping[str, Deps], pruned: list[str]) -> list[str]:
    """The graph after the apply: no cycle, and nothing left depends on a pruned job."""
    gone = set(pruned)
    final = {n: list(d) for n, d in state.edges.items() if n not in gone and n not in deps}
    final.update({n: sorted(d) for n, d in deps.items()})
    problems = [
        f"cannot prune {p}: {', '.join(users)} still depend(s) on it"
        for p in pruned
        if (users := dependents_of(final, p))
    ]
    cycle = find_cycle(final)
    if cycle is not None:
        problems.append("dependency cycle: " + " → ".join(cycle))
    return problems


def _upsert(job: JobIn, deps: Deps, current: JobOut | None) -> Step:
    body = job.model_dump(mode="json", exclude_unset=True)
    if current is None:
        return Step("create", job.name, body=body)
    keep_enabled = "enabled" not in job.model_fields_set
    if keep_enabled:
        body["enabled"] = current.enabled
    want = _normal(job.model_dump(mode="json"), deps)
    if keep_enabled:
        want["enabled"] = current.enabled
    have = _normal(current.model_dump(mode="json"), dict(map(dependency_ref, current.depends_on)))
    changes = tuple(
        FieldChange(f, _tidy(have[f]), _tidy(want[f])) for f in COMPARED if have[f] != want[f]
    )
    return Step("update" if changes else "unchanged", job.name, body=body, changes=changes)


def _normal(view: dict[str, Any], deps: Deps) -> dict[str, Any]:
    """The compared fields in one canonical form (sets sorted, HTTP method upper-case)."""
    out = {f: view.get(f) for f in COMPARED}
    out["depends_on"] = [
        name if on == "success" else {"job": name, "on": on} for name, on in sorted(deps.items())
    ]
    for key in ("tags", "worker_tags"):
        out[key] = sorted(out[key] or [])
    request = out["request"]
    if isinstance(request, dict):
        out["request"] = {
            "url": request.get("url"),
            "method": str(request.get("method") or "GET").upper(),
            "headers": request.get("headers") or {},
            "body": request.get("body"),
        }
    return out


def _tidy(value: Any) -> Any:
    """600.0 → 600, for people reading the diff."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _deletes(state: ServerState, pruned: list[str]) -> list[Step]:
    """Dependents before the jobs they depend on."""
    gone = set(pruned)
    graph = {n: [d for d in state.edges.get(n, []) if d in gone] for n in pruned}
    order = [n for n in topological_order(graph) if n in gone]
    return [Step("delete", n) for n in reversed(order)]
