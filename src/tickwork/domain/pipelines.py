"""Pipelines: a DAG of tasks defined, triggered, scheduled and watched as one unit.

Each task is a job named ``<pipeline>.<task>`` owned by the pipeline; the task graph (edges
with a condition, a trigger rule per task) belongs to the pipeline, not to the jobs. One
trigger or tick makes one pipeline run; ``advance`` (pure) says, for the task states of a
run, which tasks to queue, which to skip and why, and how the run ends.

The rules, in one place:

- an edge (a ``Dependency`` naming a task of the pipeline: ``{"job": "extract", "on":
  "success" | "failure" | "done"}``) holds when its upstream
  task completed / failed / finished in any way (completed, failed, cancelled or skipped);
  it can no longer hold once the upstream finished another way;
- ``trigger_rule: all`` (default): the task is queued when every edge holds, skipped as soon
  as one cannot; ``any``: queued as soon as one holds, skipped when none can;
- a task with no edges is queued when the pipeline run starts;
- a skip is *caused by a failure* when an edge that cannot hold has a failed or cancelled
  upstream, or one skipped because of a failure; otherwise it is *by design* (an on-failure
  handler whose upstream succeeded);
- when nothing is pending, queued or running the pipeline run ends: **failed** if a leaf
  task (one no other task depends on) failed, was cancelled or was skipped because of a
  failure; else **completed**. So a failure that an on-failure handler took over (the
  handler being the leaf, and completing) completes the run, while a failure that stopped
  the tasks after it fails the run even when a notify handler ran.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from tickwork.domain.business import BusinessSchedule
from tickwork.domain.calendars import CalendarPolicy, CalendarSpec
from tickwork.domain.dag import find_cycle, topological_order
from tickwork.domain.errors import ValidationError
from tickwork.domain.jobs import NAME_RE, Dependency, JobSpec, TriggerRule, validate_spec
from tickwork.domain.namespaces import DEFAULT_NAMESPACE, check_namespace
from tickwork.domain.schedules import Schedule, parse_schedule, validate_timezone

TaskStatus = Literal["pending", "queued", "running", "completed", "failed", "cancelled", "skipped"]
RunStatus = Literal["queued", "running", "completed", "failed", "cancelled"]
OnOverlap = Literal["skip", "queue", "allow", "cancel_previous"]
Catchup = Literal["latest", "all", "none"]

TASK_RE = re.compile(r"^[A-Za-z0-9_-]{1,100}$")
"""A task's short name: no dots, so ``<pipeline>.<task>`` splits one way."""
MAX_TASKS = 200
ACTIVE_TASK: frozenset[str] = frozenset({"pending", "queued", "running"})
PIPELINE_ACTIVE: frozenset[str] = frozenset({"queued", "running"})
CANCELLED_REASON = "pipeline cancelled"


@dataclass(frozen=True, slots=True)
class TaskNode:
    """A task as the graph sees it."""

    name: str
    depends_on: tuple[Dependency, ...] = ()
    trigger_rule: TriggerRule = "all"


@dataclass(frozen=True, slots=True)
class TaskSpec:
    """A task: its node in the graph and the job that runs it."""

    node: TaskNode
    job: JobSpec

    @property
    def name(self) -> str:
        return self.node.name


@dataclass(frozen=True, slots=True)
class PipelineSpec:
    """Everything a user controls about a pipeline."""

    name: str
    tasks: tuple[TaskSpec, ...]
    namespace: str = DEFAULT_NAMESPACE
    description: str = ""
    schedule: str | None = None
    timezone: str = "UTC"
    calendar: str | None = None
    calendar_policy: CalendarPolicy = "skip"
    on_overlap: OnOverlap = "skip"
    catchup: Catchup = "latest"
    enabled: bool = True
    tags: tuple[str, ...] = ()

    @property
    def graph(self) -> tuple[TaskNode, ...]:
        return tuple(t.node for t in self.tasks)

    def parsed_schedule(self) -> Schedule | None:
        return parse_schedule(self.schedule, self.timezone) if self.schedule else None

    def ticks(self, calendar: CalendarSpec | None = None) -> Schedule | BusinessSchedule | None:
        schedule = self.parsed_schedule()
        if schedule is None or calendar is None:
            return schedule
        return BusinessSchedule(schedule, calendar, self.calendar_policy)


@dataclass(frozen=True, slots=True)
class Pipeline:
    id: str
    spec: PipelineSpec
    created_at: datetime
    updated_at: datetime
    next_run: datetime | None = None
    job_ids: Mapping[str, str] = field(default_factory=dict)
    """Each task's job id, by task name."""

    @property
    def name(self) -> str:
        return self.spec.name


def job_name(pipeline: str, task: str) -> str:
    """The name of the job that runs ``task`` of ``pipeline``."""
    return f"{pipeline}.{task}"


def validate_pipeline(spec: PipelineSpec, *, now: datetime) -> PipelineSpec:
    """Check what no type system can: names, the schedule, each task's job, the graph (a 422
    names the field, ``tasks[1].depends_on``)."""
    if not NAME_RE.match(spec.name) or spec.name.startswith(("job-", "run-", "pipe-")):
        raise ValidationError(
            "name", "must be 1 to 200 characters of letters, digits, '.', '_' or '-'"
        )
    check_namespace(spec.namespace)
    validate_timezone(spec.timezone)
    if spec.schedule is not None:
        schedule = parse_schedule(spec.schedule, spec.timezone)
        if schedule.kind == "once" and schedule.next_after(now) is None:
            raise ValidationError("schedule", "the one-time date is in the past")
    if spec.calendar is None and spec.calendar_policy != "skip":
        raise ValidationError("calendar_policy", "applies only to a pipeline that names a calendar")
    if not spec.tasks:
        raise ValidationError("tasks", "a pipeline needs at least one task")
    if len(spec.tasks) > MAX_TASKS:
        raise ValidationError("tasks", f"at most {MAX_TASKS} tasks")
    seen: dict[str, int] = {}
    for i, task in enumerate(spec.tasks):
        _check_task(spec, task, i, seen)
    names = set(seen)
    for i, task in enumerate(spec.tasks):
        _check_edges(task.node, i, names)
    cycle = find_cycle({t.name: [e.job for e in t.node.depends_on] for t in spec.tasks})
    if cycle is not None:
        i = seen[cycle[0]]
        raise ValidationError(
            f"tasks[{i}].depends_on", "the tasks depend on each other: " + " → ".join(cycle)
        )
    return spec


def _check_task(spec: PipelineSpec, task: TaskSpec, i: int, seen: dict[str, int]) -> None:
    where = f"tasks[{i}]"
    if not TASK_RE.match(task.name):
        raise ValidationError(
            f"{where}.name", "must be 1 to 100 characters of letters, digits, '_' or '-'"
        )
    if task.name in seen:
        raise ValidationError(f"{where}.name", f"task '{task.name}' is defined twice")
    seen[task.name] = i
    name = job_name(spec.name, task.name)
    if not NAME_RE.match(name):
        raise ValidationError(f"{where}.name", f"'{name}' is not a valid job name (too long)")
    if task.job.name != name or task.job.namespace != spec.namespace:
        raise ValidationError(f"{where}.name", f"the task's job must be '{name}'")
    if task.job.schedule is not None or task.job.depends_on or task.job.calendar is not None:
        raise ValidationError(
            where, "a task has no schedule, calendar or job dependencies of its own"
        )
    try:
        validate_spec(task.job, now=_EPOCH)  # no schedule: the time is not read
    except ValidationError as exc:
        raise ValidationError(f"{where}.{exc.field}", exc.reason) from None


_EPOCH = datetime.fromisoformat("2000-01-01T00:00:00+00:00")


def _check_edges(node: TaskNode, i: int, names: set[str]) -> None:
    where = f"tasks[{i}].depends_on"
    ups = [e.job for e in node.depends_on]
    for up in ups:
        if up == node.name:
            raise ValidationError(where, f"task '{up}' depends on itself")
        if up not in names:
            raise ValidationError(where, f"no task '{up}' in this pipeline")
    if len(set(ups)) != len(ups):
        raise ValidationError(where, "lists the same task twice")


def first_run(
    spec: PipelineSpec, *, now: datetime, calendar: CalendarSpec | None = None
) -> datetime | None:
    """The first fire time of a new, changed or resumed pipeline (None without a schedule
    or while paused)."""
    schedule = spec.ticks(calendar)
    if schedule is None or not spec.enabled:
        return None
    return schedule.next_after(now)


# --- a pipeline run's progress (pure) ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class TaskState:
    """Where a task of a pipeline run stands; ``by_failure`` marks a skip a failure caused."""

    status: TaskStatus
    reason: str | None = None
    by_failure: bool = False


@dataclass(frozen=True, slots=True)
class Step:
    """What to do now: tasks to queue (each with the upstream tasks whose edges held), tasks
    to skip (with the new state), and the run's end (None while it goes on)."""

    queue: list[tuple[str, list[str]]] = field(default_factory=list)
    skip: dict[str, TaskState] = field(default_factory=dict)
    status: RunStatus | None = None
    error: str | None = None


def _edge(edge: Dependency, up: TaskState) -> tuple[bool | None, str | None, bool]:
    """(holds: True / False / None undecided, why not, the reason is a failure)."""
    if up.status in ACTIVE_TASK:
        return None, None, False
    holds = {
        "success": up.status == "completed",
        "failure": up.status == "failed",
        "done": True,
    }[edge.on]
    if holds:
        return True, None, False
    failure = up.status in ("failed", "cancelled") or (up.status == "skipped" and up.by_failure)
    word = {"completed": "succeeded", "skipped": "skipped"}.get(up.status, up.status)
    return False, f"upstream {word}: {edge.job}", failure


def _decide(node: TaskNode, states: Mapping[str, TaskState]) -> tuple[str, list[str], TaskState]:
    """("queue", upstream, _) / ("skip", _, state) / ("wait", _, _) for a pending task."""
    looks = [(e, *_edge(e, states[e.job])) for e in node.depends_on]
    held = [e.job for e, holds, _, _ in looks if holds]
    blocked = [(why, failure) for _, holds, why, failure in looks if holds is False]
    undecided = any(holds is None for _, holds, _, _ in looks)
    if node.trigger_rule == "any" and node.depends_on:
        if held:
            return "queue", held, states[node.name]
        if undecided:
            return "wait", [], states[node.name]
        reason = "no upstream condition can hold (" + "; ".join(w or "" for w, _ in blocked) + ")"
        return "skip", [], TaskState("skipped", reason, any(f for _, f in blocked))
    if blocked:
        why, _ = blocked[0]
        return "skip", [], TaskState("skipped", why, any(f for _, f in blocked))
    if undecided:
        return "wait", [], states[node.name]
    return "queue", held, states[node.name]


def advance(graph: Sequence[TaskNode], states: Mapping[str, TaskState]) -> Step:
    """The next step of a pipeline run whose tasks stand as ``states`` (every task of
    ``graph`` named): pending tasks whose rules hold are queued, those that can no longer
    run are skipped (and what that skip decides downstream, in the same step), and the run
    ends when no task is left pending, queued or running (see the module's rules)."""
    nodes = {n.name: n for n in graph}
    now = dict(states)
    step = Step()
    order = topological_order({n.name: [e.job for e in n.depends_on] for n in graph})
    for name in order:
        if now[name].status != "pending":
            continue
        verdict, upstream, state = _decide(nodes[name], now)
        if verdict == "queue":
            step.queue.append((name, upstream))
            now[name] = TaskState("queued")
        elif verdict == "skip":
            step.skip[name] = state
            now[name] = state
    if any(s.status in ACTIVE_TASK for s in now.values()):
        return step
    status, error = outcome(graph, now)
    return Step(step.queue, step.skip, status, error)


def outcome(
    graph: Sequence[TaskNode], states: Mapping[str, TaskState]
) -> tuple[RunStatus, str | None]:
    """How a pipeline run whose tasks all finished ends: failed when a leaf task failed,
    was cancelled or was skipped because of a failure; else completed."""
    upstream = {e.job for n in graph for e in n.depends_on}
    bad = [
        n.name
        for n in graph
        if n.name not in upstream
        and (
            states[n.name].status in ("failed", "cancelled")
            or (states[n.name].status == "skipped" and states[n.name].by_failure)
        )
    ]
    if not bad:
        return "completed", None
    failed = [n.name for n in graph if states[n.name].status in ("failed", "cancelled")]
    return "failed", "failed: " + ", ".join(failed or bad)


def task_status_of_run(run_status: str) -> TaskStatus:
    """A task's status from its run's (a run that missed its start deadline failed)."""
    if run_status == "missed":
        return "failed"
    return run_status  # type: ignore[return-value]


# --- what a pipeline run looks like when read ----------------------------------------------


@dataclass(frozen=True, slots=True)
class TaskRun:
    """A task of a pipeline run: its state and, once queued, its run's."""

    name: str
    job_id: str
    job_name: str
    depends_on: tuple[Dependency, ...]
    trigger_rule: TriggerRule
    status: TaskStatus
    reason: str | None = None
    run_id: str | None = None
    attempt: int | None = None
    queued_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    duration: float | None = None
    runs: tuple[str, ...] = ()
    """Every run the task had in this pipeline run (a retried task has more than one)."""


@dataclass(frozen=True, slots=True)
class PipelineRun:
    id: str
    pipeline_id: str
    pipeline_name: str
    namespace: str
    status: RunStatus
    trigger: str
    scheduled_for: datetime | None
    queued_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    error: str | None
    tasks: tuple[TaskRun, ...]

    @property
    def duration(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()

    def task_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for task in self.tasks:
            counts[task.status] = counts.get(task.status, 0) + 1
        return counts


@dataclass(frozen=True, slots=True)
class PipelineTriggered:
    run: PipelineRun
    created: bool
    stopping: list[tuple[str, str]] = field(default_factory=list)
    """(run id, worker) of task runs a cancel_previous asked to stop."""
