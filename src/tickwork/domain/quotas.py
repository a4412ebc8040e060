"""Quotas of a namespace and rate limits of jobs and tags: the rules, pure.

A namespace's quotas bound what its API callers may ask for (jobs, queued runs, runs made in
the last hour: over one, a create or trigger is refused with 429 naming the quota) and what
its runs may take (runs running at once: over it, a run stays queued, "waiting for quota",
and starts when a running one ends — a scheduled tick is never refused, only late).

A rate limit (``{"max": 10, "per": "1m"}``) bounds the starts of a job's runs, or of the runs
of a namespace's jobs carrying a tag, in any window of ``per``: the claim keeps the start
times of the last ``per`` seconds (``RateWindow``) and starts a run only while fewer than
``max`` are in it; the others wait, in their order, and none is dropped.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tickwork.domain.errors import TickworkError, ValidationError
from tickwork.domain.schedules import parse_duration

QUOTA_NAMES = ("max_jobs", "max_queued", "max_running", "runs_per_hour", "max_output_bytes")
"""The quotas of a namespace, each a limit or None (no limit)."""
REFUSING = ("max_jobs", "max_queued", "runs_per_hour")
"""The quotas a create or trigger is refused over (the others make runs wait or prune)."""
RATE_MAX = 10_000
"""The most starts a rate limit may allow per period (the window keeps that many times)."""
RATE_PER_MAX = 7 * 86400.0


@dataclass(frozen=True, slots=True)
class RateLimit:
    """At most ``max`` starts in any ``per`` (a duration: ``30s``, ``1m``, ``PT1H``)."""

    max: int
    per: str

    @property
    def seconds(self) -> float:
        return parse_duration(self.per).total_seconds()

    def as_dict(self) -> dict[str, Any]:
        return {"max": self.max, "per": self.per}


def check_rate_limit(limit: RateLimit, *, field: str) -> RateLimit:
    """The limit, or ValidationError naming ``field`` (``max`` 1..10,000, ``per`` a duration
    of at most a week)."""
    if not 1 <= limit.max <= RATE_MAX:
        raise ValidationError(f"{field}.max", f"must be between 1 and {RATE_MAX}")
    try:
        seconds = limit.seconds
    except ValidationError as exc:
        raise ValidationError(f"{field}.per", exc.reason) from None
    if seconds > RATE_PER_MAX:
        raise ValidationError(f"{field}.per", "must be at most 7 days")
    return limit


def rate_limit_of(data: Mapping[str, Any] | None) -> RateLimit | None:
    """A stored ``{"max", "per"}`` as a RateLimit (None stays None)."""
    if not data:
        return None
    return RateLimit(max=int(data["max"]), per=str(data["per"]))


@dataclass(frozen=True, slots=True)
class Quotas:
    """A namespace's quotas (None: unlimited) and the rate limits of its tags."""

    max_jobs: int | None = None
    max_queued: int | None = None
    max_running: int | None = None
    runs_per_hour: int | None = None
    max_output_bytes: int | None = None
    tag_rate_limits: Mapping[str, RateLimit] = field(default_factory=dict)

    def limit(self, name: str) -> int | None:
        value: int | None = getattr(self, name)
        return value

    @property
    def refuses(self) -> bool:
        """Whether a create or trigger must count anything."""
        return any(self.limit(n) is not None for n in REFUSING)


NO_QUOTAS = Quotas()


@dataclass(frozen=True, slots=True)
class Usage:
    """What a namespace holds and does now, against its quotas."""

    jobs: int = 0
    queued: int = 0
    running: int = 0
    runs_last_hour: int = 0
    output_bytes: int = 0


USAGE_OF = {
    "max_jobs": "jobs",
    "max_queued": "queued",
    "max_running": "running",
    "runs_per_hour": "runs_last_hour",
    "max_output_bytes": "output_bytes",
}
"""Which figure of Usage each quota bounds."""


class QuotaExceeded(TickworkError):
    """A create or trigger over one of its namespace's quotas: 429, naming the quota, its
    limit and the current use. Nothing was written."""

    code = "quota_exceeded"
    status = 429

    def __init__(self, namespace: str, quota: str, limit: int, used: int, asked: int) -> None:
        super().__init__(
            f"namespace '{namespace}' is at its {quota} quota ({used} of {limit}; "
            f"this request adds {asked})",
            details={
                "namespace": namespace,
                "quota": quota,
                "limit": limit,
                "used": used,
                "requested": asked,
            },
        )
        self.namespace = namespace
        self.quota = quota
        self.retry_after = 3600 if quota == "runs_per_hour" else 1


def check_room(
    namespace: str, quotas: Quotas, usage: Usage, *, new_jobs: int = 0, new_runs: int = 0
) -> None:
    """QuotaExceeded for the first quota that ``new_jobs`` / ``new_runs`` more would pass."""
    asks = {"max_jobs": new_jobs, "max_queued": new_runs, "runs_per_hour": new_runs}
    for name, asked in asks.items():
        limit = quotas.limit(name)
        if limit is None or asked == 0:
            continue
        used: int = getattr(usage, USAGE_OF[name])
        if used + asked > limit:
            raise QuotaExceeded(namespace, name, limit, used, asked)


def runs_room(namespace: str, quotas: Quotas, usage: Usage) -> tuple[int | None, QuotaExceeded]:
    """How many more runs the namespace may be asked for now (None: no limit), and the
    refusal of the one after them (naming the quota that binds first)."""
    room: int | None = None
    binding = "max_queued"
    for name in ("max_queued", "runs_per_hour"):
        limit = quotas.limit(name)
        if limit is None:
            continue
        left = max(0, limit - int(getattr(usage, USAGE_OF[name])))
        if room is None or left < room:
            room, binding = left, name
    limit = quotas.limit(binding) or 0
    used = int(getattr(usage, USAGE_OF[binding]))
    return room, QuotaExceeded(namespace, binding, limit, used, 1)


@dataclass(slots=True)
class RateWindow:
    """The start times (epoch seconds) of the last ``per`` seconds under one rate limit."""

    max: int
    per: float
    starts: list[float]

    def room(self, now: datetime) -> int:
        """How many more may start now; forgets the starts that left the window."""
        since = now.timestamp() - self.per
        self.starts = [s for s in self.starts if s > since]
        return max(0, self.max - len(self.starts))

    def take(self, now: datetime) -> None:
        self.starts.append(now.timestamp())

    def opens_at(self, now: datetime) -> float:
        """Seconds from ``now`` until one more may start (0: now)."""
        if self.room(now) > 0:
            return 0.0
        return max(0.0, min(self.starts) + self.per - now.timestamp())


def choose_runs(
    rows: Iterable[tuple[str, str, bool, str]],
    *,
    job_room: Mapping[str, int],
    namespace_room: Mapping[str, int],
    windows: Mapping[str, RateWindow],
    keys_of: Mapping[str, tuple[str, ...]],
    limit: int,
    now: datetime,
    held: dict[str, int] | None = None,
) -> list[str]:
    """From candidates (run id, job id, bypasses concurrency, namespace) in start order, the
    runs to start: each within its job's concurrency (unless it bypasses it), its namespace's
    running quota (when it has one) and every rate window of its job (``keys_of``). A run
    that may not start waits; the ones after it may still start. ``held`` counts the runs
    passed over by what held them: ``quota`` (running), ``job`` or ``tag`` (a rate limit)."""
    jobs = dict(job_room)
    spaces = dict(namespace_room)
    rooms = {key: w.room(now) for key, w in windows.items()}
    held = {} if held is None else held
    picked: list[str] = []
    for run_id, job_id, bypass, namespace in rows:
        if len(picked) >= limit:
            break
        keys = [k for k in keys_of.get(job_id, ()) if k in rooms]
        if not bypass and jobs.get(job_id, 0) <= 0:
            continue
        if namespace in spaces and spaces[namespace] <= 0:
            held["quota"] = held.get("quota", 0) + 1
            continue
        full = next((k for k in keys if rooms[k] <= 0), None)
        if full is not None:
            kind = full.partition(":")[0]
            held[kind] = held.get(kind, 0) + 1
            continue
        if not bypass:
            jobs[job_id] -= 1
        if namespace in spaces:
            spaces[namespace] -= 1
        for k in keys:
            rooms[k] -= 1
            windows[k].take(now)
        picked.append(run_id)
    return picked


def job_rate_key(job_id: str) -> str:
    return f"job:{job_id}"


def tag_rate_key(namespace: str, tag: str) -> str:
    return f"tag:{namespace}:{tag}"


def waiting_reason(
    *,
    quotas: Quotas,
    usage: Usage,
    windows: Mapping[str, RateWindow],
    now: datetime,
) -> str | None:
    """Why a queued run of a namespace waits beyond a free worker, in words: its namespace's
    running quota, or a rate limit (the first full window), or None."""
    limit = quotas.max_running
    if limit is not None and usage.running >= limit:
        return f"waiting for quota: max_running ({usage.running} of {limit} running)"
    for key, window in windows.items():
        if window.room(now) == 0:
            kind, _, name = key.partition(":")
            what = f"job {name}" if kind == "job" else f"tag '{name.partition(':')[2]}'"
            return (
                f"waiting for rate limit: {what} ({window.max} per {window.per:g}s; "
                f"next start in {window.opens_at(now):.0f}s)"
            )
    return None
