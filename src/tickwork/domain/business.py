"""A schedule under a business calendar: which ticks fire, when, and which are skipped.

Two policies for a tick whose local day (in the schedule's time zone) is not a business day:

- ``skip``: the tick does not fire; the next tick on a business day does.
- ``next_business_day``: the tick moves to the same local wall time on the next business day
  (a time that does not exist there, in a spring-forward gap, moves to the first valid instant
  after it). Ticks that land on the same instant fire once, so a daily job's Saturday and
  Sunday ticks and Monday's own tick make one Monday run.

Every search is bounded: no business day (or no tick on one) within ``HORIZON_DAYS`` raises
``NoBusinessDay`` instead of looping.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from tickwork.domain.calendars import HORIZON_DAYS, CalendarPolicy, CalendarSpec
from tickwork.domain.errors import ValidationError
from tickwork.domain.schedules import Schedule

EPSILON = timedelta(microseconds=1)
MAX_MOVED_TICKS = 100_000
"""Ticks of one closed stretch read for their wall times (next_business_day); a schedule that
ticks more often than that in one stretch has shown every time of day it has long before."""
MAX_REPORTED_DAYS = 31
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


class NoBusinessDay(ValidationError):
    """The calendar (with this schedule) leaves no fire time within the horizon."""

    def __init__(self, calendar: str, since: date, *, ticks: bool = False) -> None:
        what = "no tick of the schedule on a business day" if ticks else "no business day"
        super().__init__(
            "calendar",
            f"calendar '{calendar}' has {what} within {HORIZON_DAYS} days after "
            f"{since.isoformat()}",
        )


@dataclass(frozen=True, slots=True)
class PreviewTick:
    """One line of a preview: a fire time, or a day whose ticks do not fire there."""

    at: datetime
    fires: bool
    reason: str | None = None
    count: int = 1


@dataclass(frozen=True, slots=True)
class BusinessSchedule:
    """``schedule`` evaluated under ``calendar`` with ``policy``; quacks like a Schedule for
    the scheduler's planner (``next_after``)."""

    schedule: Schedule
    calendar: CalendarSpec
    policy: CalendarPolicy = "skip"

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.schedule.timezone)

    def next_after(self, after: datetime) -> datetime | None:
        """The first fire time strictly after ``after`` (UTC); None when a one-time schedule
        has none left; NoBusinessDay when the horizon passes without one."""
        return self._next(after.astimezone(UTC), anchor=after.astimezone(UTC))

    def fire_times(self, after: datetime, n: int) -> list[datetime]:
        out: list[datetime] = []
        current = after
        while len(out) < n:
            nxt = self.next_after(current)
            if nxt is None:
                break
            out.append(nxt)
            current = nxt
        return out

    # -- evaluation -------------------------------------------------------------------------

    def _next(self, after: datetime, *, anchor: datetime) -> datetime | None:
        if self.schedule.kind == "once":
            return self._next_once(after)
        if self.policy == "skip":
            return self._next_skipping(after, anchor)
        return self._next_moving(after, anchor)

    def _next_once(self, after: datetime) -> datetime | None:
        instant = self.schedule.next_after(_EPOCH - timedelta(days=365 * 100))
        if instant is None:
            return None
        day = self._day(instant)
        if self.calendar.is_business_day(day):
            fire: datetime | None = instant
        elif self.policy == "skip":
            fire = None
        else:
            target = self._next_business_day(day)
            fire = self._at_wall(target, instant.astimezone(self.zone).time())
        return fire if fire is not None and fire > after else None

    def _next_skipping(self, after: datetime, anchor: datetime) -> datetime | None:
        limit = after + timedelta(days=HORIZON_DAYS)
        tick = self._first_from(anchor, after + EPSILON)
        while tick is not None:
            if tick > limit:
                raise NoBusinessDay(self.calendar.name, self._day(after), ticks=True)
            day = self._day(tick)
            if self.calendar.is_business_day(day):
                return tick
            tick = self._first_from(tick, self._start(self._next_business_day(day)))
        return None

    def _next_moving(self, after: datetime, anchor: datetime) -> datetime | None:
        first = self._day(after)
        for offset in range(HORIZON_DAYS + 1):
            day = first + timedelta(days=offset)
            if not self.calendar.is_business_day(day):
                continue
            start = self._start(day)
            found = [
                t
                for t in (
                    self._own_tick(day, max(after + EPSILON, start), anchor),
                    self._moved_tick(day, after, anchor),
                )
                if t is not None
            ]
            if found:
                return min(found)
        raise NoBusinessDay(self.calendar.name, first, ticks=True)

    def _own_tick(self, day: date, start: datetime, anchor: datetime) -> datetime | None:
        tick = self._first_from(anchor, start)
        return tick if tick is not None and self._day(tick) == day else None

    def _moved_tick(self, day: date, after: datetime, anchor: datetime) -> datetime | None:
        """The earliest tick moved onto business ``day`` (from the closed days just before
        it) that falls after ``after``."""
        closed = self._closed_run_before(day)
        if closed is None:
            return None
        walls = _moved_walls(self, closed, day, self._phase(anchor))
        local = after.astimezone(self.zone)
        # walls before the local time of `after` (on this day) cannot be later; one back
        # for a wall that a spring-forward gap moves past it
        start = bisect_right(walls, local.time().replace(fold=0)) - 1 if local.date() == day else 0
        for wall in walls[max(start, 0) :]:
            moved = self._at_wall(day, wall)
            if moved > after:
                return moved
        return None

    # -- what the scheduler records ---------------------------------------------------------

    def closed_before(
        self, tick: datetime, *, since: datetime | None = None
    ) -> list[tuple[datetime, str]]:
        """When ``tick`` is the first fire of its business day: the closed days just before
        it that had ticks (after ``since``), each as (its first tick, the reason), oldest
        first. The scheduler records them as skipped ticks when it fires ``tick``."""
        day = self._day(tick)
        start = self._start(day)
        if self._next(start - EPSILON, anchor=tick) != tick:
            return []
        out: list[tuple[datetime, str]] = []
        current = day - timedelta(days=1)
        while len(out) < MAX_REPORTED_DAYS and current >= day - timedelta(days=HORIZON_DAYS):
            reason = self.calendar.closed_reason(current)
            if reason is None:
                break
            first = self._first_from(tick, self._start(current))
            if first is not None and first < self._start(current + timedelta(days=1)):
                if since is not None and first <= since:
                    break
                if self.policy == "next_business_day":
                    reason += f"; moved to {day.isoformat()}"
                out.append((first, reason))
            current -= timedelta(days=1)
        return out[::-1]

    def preview(self, after: datetime, n: int) -> list[PreviewTick]:
        """The next ``n`` fire times after ``after``, with a line before each for every closed
        day whose ticks were skipped (or moved), with their count and reason."""
        out: list[PreviewTick] = []
        current = after
        for _ in range(n):
            nxt = self.next_after(current)
            if nxt is None:
                break
            for first, reason in self.closed_before(nxt, since=current):
                count = self._ticks_on(self._day(first), anchor=nxt)
                out.append(PreviewTick(first, fires=False, reason=reason, count=count))
            out.append(PreviewTick(nxt, fires=True))
            current = nxt
        return out

    def _ticks_on(self, day: date, *, anchor: datetime) -> int:
        end = self._start(day + timedelta(days=1))
        return sum(1 for _ in self._raw_ticks(anchor, self._start(day), end))

    def _raw_ticks(self, anchor: datetime, start: datetime, end: datetime) -> Iterator[datetime]:
        """The raw ticks in [start, end) (at most MAX_MOVED_TICKS), in one walk."""
        first = self._first_from(anchor, start)
        if first is None or first >= end:
            return
        yield first
        seen = 1
        for tick in self.schedule.times_after(first):
            if tick >= end or seen >= MAX_MOVED_TICKS:
                return
            seen += 1
            yield tick

    # -- days and instants --------------------------------------------------------------------

    def _day(self, instant: datetime) -> date:
        return instant.astimezone(self.zone).date()

    def _start(self, day: date) -> datetime:
        return self._at_wall(day, time(0))

    def _at_wall(self, day: date, wall: time) -> datetime:
        return at_wall(self.zone, day, wall)

    def _next_business_day(self, day: date) -> date:
        for offset in range(1, HORIZON_DAYS + 1):
            candidate = day + timedelta(days=offset)
            if self.calendar.is_business_day(candidate):
                return candidate
        raise NoBusinessDay(self.calendar.name, day)

    def _closed_run_before(self, day: date) -> date | None:
        """The first of the closed days just before ``day`` (None if the day before is open)."""
        first = None
        current = day - timedelta(days=1)
        for _ in range(HORIZON_DAYS):
            if self.calendar.is_business_day(current):
                break
            first = current
            current -= timedelta(days=1)
        return first

    def _phase(self, anchor: datetime) -> timedelta | None:
        every = self.schedule.interval
        return None if every is None else (anchor - _EPOCH) % every

    def _first_from(self, anchor: datetime, start: datetime) -> datetime | None:
        """The first raw tick at or after ``start``; an interval keeps the phase of ``anchor``
        (its ticks are anchor + k * interval)."""
        every = self.schedule.interval
        if every is None:
            return self.schedule.next_after(start - EPSILON)
        return anchor - ((anchor - start) // every) * every


@lru_cache(maxsize=1024)
def _moved_walls(
    bs: BusinessSchedule, first: date, day: date, phase: timedelta | None
) -> tuple[time, ...]:
    """The distinct local wall times of the ticks on closed days ``first`` … day before
    ``day``, sorted (cached: every pass of the scheduler on ``day`` asks again)."""
    anchor = _EPOCH + phase if phase is not None else _EPOCH
    zone = bs.zone
    ticks = bs._raw_ticks(anchor, bs._start(first), bs._start(day))
    return tuple(sorted({tick.astimezone(zone).time().replace(fold=0) for tick in ticks}))


def at_wall(zone: ZoneInfo, day: date, wall: time) -> datetime:
    """The UTC instant of local ``wall`` time on ``day``: the first occurrence in an autumn
    fold, the first valid instant after it in a spring-forward gap (as cron does)."""
    naive = datetime.combine(day, wall)
    first = naive.replace(tzinfo=zone).astimezone(UTC)
    if first.astimezone(zone).replace(tzinfo=None) == naive:
        return first
    # a gap: the clock jumped past `wall`; find the instant it jumped (whole seconds)
    low = naive.replace(tzinfo=zone, fold=1).astimezone(UTC)
    high = first
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        if middle.astimezone(zone).replace(tzinfo=None) >= naive:
            high = middle
        else:
            low = middle
    return high.replace(microsecond=0) if high.microsecond else high
