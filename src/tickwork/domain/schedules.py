"""Schedules: cron (via cronsim, DST-aware), fixed intervals and one-time instants.

Every fire time leaves this module as an aware UTC datetime. Cron expressions are evaluated in
the job's ``ZoneInfo`` with Debian cron's DST behaviour (see ``Schedule.next_after``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from itertools import islice
from typing import Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError

from tickwork.domain.clock import utc
from tickwork.domain.errors import ValidationError

ScheduleKind = Literal["cron", "interval", "once"]

MIN_INTERVAL = timedelta(seconds=1)
MAX_INTERVAL = timedelta(days=3650)

_SHORTHANDS = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}
_CRON_FIELDS = ("minute", "hour", "day-of-month", "month", "day-of-week")
_CRON_ALLOWED = ("0-59", "0-23", "1-31", "1-12 or JAN-DEC", "0-7 or SUN-SAT")
_CRON_PROBE_START = datetime(2000, 1, 1, tzinfo=UTC)

_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_UNIT_ALIASES = {
    **dict.fromkeys(("s", "sec", "secs", "second", "seconds"), "s"),
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), "m"),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), "h"),
    **dict.fromkeys(("d", "day", "days"), "d"),
    **dict.fromkeys(("w", "week", "weeks"), "w"),
}
_EVERY = re.compile(r"every(?:\s+|$)", re.IGNORECASE)
_COMPACT = re.compile(r"(?:\d+\s*[a-z]+\s*)+", re.IGNORECASE)
_COMPACT_PART = re.compile(r"(\d+)\s*([a-z]+)", re.IGNORECASE)
_ISO_DURATION = re.compile(
    r"P(?:(?P<w>\d+)W)?(?:(?P<d>\d+)D)?(?:T(?=\d)(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+)S)?)?"
)
_ISO_SHAPE = re.compile(r"P[0-9YMWDTHS.,]*", re.IGNORECASE)
_DURATION_SHAPE = re.compile(r"-?\s*(?:\d+\s*[a-z]+\s*)+", re.IGNORECASE)
_DATETIME_SHAPE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DURATION_HELP = "use e.g. 30s, 5m, 1h30m, 'every 2d' or ISO-8601 PT5M"


@dataclass(frozen=True, slots=True)
class Schedule:
    """A validated schedule; construct with ``parse_schedule`` (or directly, which validates)."""

    kind: ScheduleKind
    expression: str
    timezone: str = "UTC"
    _zone: ZoneInfo = field(init=False, repr=False, compare=False)
    _every: timedelta | None = field(init=False, repr=False, compare=False, default=None)
    _at: datetime | None = field(init=False, repr=False, compare=False, default=None)
    _cron: str | None = field(init=False, repr=False, compare=False, default=None)

    def __post_init__(self) -> None:
        expression = self.expression.strip()
        object.__setattr__(self, "expression", expression)
        object.__setattr__(self, "timezone", self.timezone.strip())
        object.__setattr__(self, "_zone", validate_timezone(self.timezone))
        if self.kind == "interval":
            object.__setattr__(self, "_every", parse_duration(expression))
        elif self.kind == "once":
            object.__setattr__(self, "_at", _parse_instant(expression))
        elif self.kind == "cron":
            object.__setattr__(self, "_cron", _compile_cron(expression))
        else:
            kinds = ", ".join(get_args(ScheduleKind))
            raise ValidationError("schedule", f"unknown schedule kind {self.kind!r} ({kinds})")

    @property
    def interval(self) -> timedelta | None:
        """The fixed period of an interval schedule; None for cron and once."""
        return self._every

    def next_after(self, after: datetime) -> datetime | None:
        """The first fire time strictly after ``after`` (aware), in UTC; None if there is none.

        Cron follows cronsim (Debian cron): a fixed local time in a spring-forward gap fires at
        the first valid instant after it, and one in an autumn fold fires once (first occurrence);
        expressions with ``*`` in the minute or hour field run on real elapsed time instead.
        """
        return next(self._times(after), None)

    def fire_times(self, after: datetime, n: int) -> list[datetime]:
        """The next ``n`` fire times after ``after`` (fewer for once), strictly increasing, UTC."""
        if n < 0:
            raise ValueError("n must not be negative")
        return list(islice(self._times(after), n))

    def times_after(self, after: datetime) -> Iterator[datetime]:
        """Every fire time strictly after ``after``, in order (UTC), lazily: one walk through
        cronsim for a long run of ticks instead of a new one per tick."""
        return self._times(after)

    def _times(self, after: datetime) -> Iterator[datetime]:
        start = utc(after)
        if self._every is not None:
            return _interval_times(start, self._every)
        if self._at is not None:
            return iter([self._at] if self._at > start else [])
        assert self._cron is not None
        return _cron_times(self._cron, self._zone, start)


@lru_cache(maxsize=4096)
def parse_schedule(expression: str, timezone: str = "UTC") -> Schedule:
    """Classify and validate ``expression``; raises ValidationError("schedule" | "timezone").

    Schedules are immutable, and a scheduler pass parses the same few expressions for
    thousands of jobs (every job on ``* * * * *`` at the top of a minute): they are kept."""
    return Schedule(schedule_kind(expression), expression, timezone)


def schedule_kind(expression: str) -> ScheduleKind:
    """Classify without validating deeply: datetime → once, duration → interval, else cron."""
    text = expression.strip()
    if _DATETIME_SHAPE.match(text) or _is_isoformat(text):
        return "once"
    if _EVERY.match(text) or _DURATION_SHAPE.fullmatch(text) or _ISO_SHAPE.fullmatch(text):
        return "interval"
    return "cron"


def validate_timezone(name: str) -> ZoneInfo:
    """Load an IANA time zone; raises ValidationError("timezone") for unknown names."""
    key = name.strip()
    if key == "localtime":  # the host's zone, not an IANA name
        raise ValidationError("timezone", f"unknown time zone {name!r}")
    try:
        return ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValidationError("timezone", f"unknown time zone {name!r}") from None


def parse_duration(text: str) -> timedelta:
    """Parse ``30s``, ``5m``, ``every 1h30m``, ``PT5M``, ``P1D``…; ValidationError("schedule")."""
    stripped = text.strip()
    prefix = _EVERY.match(stripped)
    body = stripped[prefix.end() :] if prefix else stripped
    if not body:
        raise ValidationError("schedule", f"empty duration; {_DURATION_HELP}")
    if body.startswith("-"):
        raise ValidationError("schedule", f"duration {stripped!r} must be positive")
    if body[0] in "pP":
        seconds = _iso_duration_seconds(body.upper())
    else:
        seconds = _compact_duration_seconds(body)
    return _bounded(seconds, stripped)


def _compact_duration_seconds(body: str) -> int:
    if not _COMPACT.fullmatch(body):
        raise ValidationError("schedule", f"invalid duration {body!r}; {_DURATION_HELP}")
    seen: set[str] = set()
    seconds = 0
    for amount, word in _COMPACT_PART.findall(body):
        unit = _UNIT_ALIASES.get(word.lower())
        if unit is None:
            raise ValidationError("schedule", f"unknown unit {word!r} (use s, m, h, d or w)")
        if unit in seen:
            raise ValidationError("schedule", f"unit {unit!r} repeated in {body!r}")
        seen.add(unit)
        seconds += int(amount) * _UNIT_SECONDS[unit]
    return seconds


def _iso_duration_seconds(body: str) -> int:
    date_part = body.partition("T")[0]
    if "Y" in date_part or "M" in date_part:
        raise ValidationError(
            "schedule",
            f"{body!r}: years and months are not fixed lengths; use weeks (W) or days (D)",
        )
    match = _ISO_DURATION.fullmatch(body)
    if match is None or not any(match.groupdict().values()):
        raise ValidationError(
            "schedule", f"invalid ISO-8601 duration {body!r}; use whole numbers, e.g. PT1H30M"
        )
    parts = {unit: int(value) for unit, value in match.groupdict().items() if value}
    return sum(_UNIT_SECONDS[unit] * n for unit, n in parts.items())


def _bounded(seconds: int, text: str) -> timedelta:
    if seconds < MIN_INTERVAL.total_seconds():
        raise ValidationError("schedule", f"interval {text!r} must be at least 1 second")
    if seconds > MAX_INTERVAL.total_seconds():
        raise ValidationError("schedule", f"interval {text!r} is longer than 3650 days")
    return timedelta(seconds=seconds)


def _is_isoformat(text: str) -> bool:
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return False
    return True


def _parse_instant(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        detail = "" if str(exc).startswith("Invalid isoformat") else f" ({exc})"
        raise ValidationError(
            "schedule", f"{text!r} is not an ISO-8601 datetime{detail}; e.g. 2026-12-01T09:00:00Z"
        ) from None
    if value.utcoffset() is None:
        raise ValidationError(
            "schedule", f"{text!r} has no UTC offset; add an offset such as Z or +02:00"
        )
    return value.astimezone(UTC)


def _compile_cron(expression: str) -> str:
    """Validate a cron expression; returns its 5-field form (shorthands expanded)."""
    if expression.startswith("@"):
        return _expand_shorthand(expression)
    parts = expression.split()
    if len(parts) != 5:
        raise ValidationError("schedule", _field_count_reason(len(parts)))
    try:
        first = next(CronSim(expression, _CRON_PROBE_START), None)
    except CronSimError as exc:
        raise ValidationError("schedule", _cron_reason(parts, exc)) from None
    if first is None:
        raise ValidationError("schedule", f"cron expression {expression!r} never fires")
    return " ".join(parts)


def _expand_shorthand(expression: str) -> str:
    fields = _SHORTHANDS.get(expression.lower())
    if fields is None:
        known = " ".join(_SHORTHANDS)
        raise ValidationError("schedule", f"unknown shorthand {expression!r}; use one of {known}")
    return fields


def _field_count_reason(count: int) -> str:
    names = " ".join(_CRON_FIELDS)
    reason = f"expected 5 fields ({names}), got {count}"
    if count == 6:
        reason += "; a seconds field is not supported"
    return reason


def _cron_reason(parts: list[str], exc: CronSimError) -> str:
    name = str(exc).removeprefix("Bad ")
    if name not in _CRON_FIELDS:
        return f"invalid cron expression: {exc}"
    if name == "day-of-month" and _fires_in_some_month(parts):
        return f"never fires: day {parts[2]} does not occur in month {parts[3]}"
    index = _CRON_FIELDS.index(name)
    return f"bad {name} field {parts[index]!r} (allowed {_CRON_ALLOWED[index]})"


def _fires_in_some_month(parts: list[str]) -> bool:
    try:
        CronSim(" ".join([*parts[:3], "*", parts[4]]), _CRON_PROBE_START)
    except CronSimError:
        return False
    return True


def _interval_times(start: datetime, every: timedelta) -> Iterator[datetime]:
    current = start
    while True:
        current += every
        yield current


def _cron_times(expression: str, zone: ZoneInfo, after: datetime) -> Iterator[datetime]:
    # cronsim maps a fold to its first occurrence even when `after` lies in the second one,
    # so anything not strictly later than the last time given out is dropped.
    floor = after
    for local in CronSim(expression, after.astimezone(zone)):
        fire = local.astimezone(UTC)
        if fire > floor:
            floor = fire
            yield fire
