"""Business calendars: which local days are business days, and why the others are not.

A calendar is a set of working weekdays (ISO 1 = Monday … 7 = Sunday), minus the public
holidays of a country (and subdivision) from the maintained ``holidays`` package, minus
``exclude_dates``, plus ``include_dates``: an included date is a business day whatever else
says. Computing holidays is arithmetic on dates inside ``holidays``; nothing here does I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Literal

import holidays as holiday_sets

from tickwork.domain.errors import ValidationError
from tickwork.domain.namespaces import DEFAULT_NAMESPACE, check_namespace

CalendarPolicy = Literal["skip", "next_business_day"]
CALENDAR_POLICIES: tuple[CalendarPolicy, ...] = ("skip", "next_business_day")

HORIZON_DAYS = 2 * 366
"""How far ahead a business day (or a tick on one) is looked for before giving up."""

NAME_RE = re.compile(r"^[A-Za-z0-9._-]{1,200}$")
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MAX_DATES = 5000


@dataclass(frozen=True, slots=True)
class HolidaySet:
    """The public holidays of ``country`` (ISO 3166-1 alpha-2), optionally of a subdivision."""

    country: str
    subdivision: str | None = None


@dataclass(frozen=True, slots=True)
class CalendarSpec:
    """A business calendar as a user defines it (validate with ``validate_calendar``)."""

    name: str
    weekdays: tuple[int, ...] = (1, 2, 3, 4, 5)
    holidays: HolidaySet | None = None
    exclude_dates: tuple[date, ...] = ()
    include_dates: tuple[date, ...] = ()
    description: str = ""
    namespace: str = DEFAULT_NAMESPACE

    def closed_reason(self, day: date) -> str | None:
        """None on a business day; else why not: "excluded date", "holiday: <name>",
        "weekend" (Saturday or Sunday) or "not a working day (<weekday>)"."""
        if day in self.include_dates:
            return None
        if day in self.exclude_dates:
            return "excluded date"
        if self.holidays is not None:
            name = holiday_name(self.holidays, day)
            if name is not None:
                return f"holiday: {name}"
        weekday = day.isoweekday()
        if weekday in self.weekdays:
            return None
        return "weekend" if weekday >= 6 else f"not a working day ({WEEKDAY_NAMES[weekday - 1]})"

    def is_business_day(self, day: date) -> bool:
        return self.closed_reason(day) is None


@dataclass(frozen=True, slots=True)
class Calendar:
    """A stored calendar."""

    spec: CalendarSpec
    created_at: datetime
    updated_at: datetime

    @property
    def name(self) -> str:
        return self.spec.name


@dataclass(frozen=True, slots=True)
class DayInfo:
    """One day of a calendar as the API shows it."""

    day: date
    business: bool
    reason: str | None


def holiday_name(where: HolidaySet, day: date) -> str | None:
    """The name of the public holiday on ``day`` (several joined by "; "), else None."""
    return _holidays_of(where.country, where.subdivision, day.year).get(day)


@lru_cache(maxsize=512)
def _holidays_of(country: str, subdivision: str | None, year: int) -> dict[date, str]:
    found = holiday_sets.country_holidays(country, subdiv=subdivision, years=year)
    return {d: str(name) for d, name in found.items()}


def supported_countries() -> dict[str, list[str]]:
    """Country codes the ``holidays`` package knows, each with its subdivision codes."""
    return {code: list(subs) for code, subs in holiday_sets.list_supported_countries().items()}


def validate_calendar(spec: CalendarSpec) -> CalendarSpec:
    """Check a calendar; return it normalised (sorted weekdays and dates, upper-case codes).

    Raises ValidationError naming the field: name, namespace, weekdays, holidays.country,
    holidays.subdivision, exclude_dates, include_dates.
    """
    if not NAME_RE.match(spec.name):
        raise ValidationError(
            "name", "must be 1 to 200 characters of letters, digits, '.', '_' or '-'"
        )
    check_namespace(spec.namespace)
    weekdays = _check_weekdays(spec.weekdays)
    if not weekdays and not spec.include_dates:
        raise ValidationError(
            "weekdays",
            "no business day: give at least one weekday (1 = Monday … 7 = Sunday) "
            "or some include_dates",
        )
    for field_name, dates in (
        ("exclude_dates", spec.exclude_dates),
        ("include_dates", spec.include_dates),
    ):
        if len(dates) > MAX_DATES:
            raise ValidationError(field_name, f"at most {MAX_DATES} dates")
    where = _check_holidays(spec.holidays) if spec.holidays is not None else None
    return CalendarSpec(
        name=spec.name,
        weekdays=weekdays,
        holidays=where,
        exclude_dates=tuple(sorted(set(spec.exclude_dates))),
        include_dates=tuple(sorted(set(spec.include_dates))),
        description=spec.description,
        namespace=spec.namespace,
    )


def _check_weekdays(weekdays: tuple[int, ...]) -> tuple[int, ...]:
    for day in weekdays:
        if not 1 <= day <= 7:
            raise ValidationError(
                "weekdays", f"{day} is not an ISO weekday (1 = Monday … 7 = Sunday)"
            )
    if len(set(weekdays)) != len(weekdays):
        raise ValidationError("weekdays", "lists the same weekday twice")
    return tuple(sorted(weekdays))


def _check_holidays(where: HolidaySet) -> HolidaySet:
    country = where.country.strip().upper()
    known = supported_countries()
    if country not in known:
        raise ValidationError(
            "holidays.country",
            f"unknown country code {where.country!r} (ISO 3166-1 alpha-2 known to the "
            "holidays package, e.g. DE, US, GB, FR)",
        )
    if where.subdivision is None:
        return HolidaySet(country)
    subs = known[country]
    wanted = where.subdivision.strip()
    match = next((s for s in subs if s.upper() == wanted.upper()), None)
    if match is None:
        listed = ", ".join(subs[:40]) + (" …" if len(subs) > 40 else "")
        raise ValidationError(
            "holidays.subdivision",
            f"{where.subdivision!r} is not a subdivision of {country}"
            + (f" ({listed})" if subs else " (it has none)"),
        )
    return HolidaySet(country, match)


def business_days(spec: CalendarSpec, start: date, days: int) -> list[DayInfo]:
    """Each day from ``start`` for ``days`` days, with whether it is a business day and why
    not (the calendar page's upcoming days)."""
    out = []
    for offset in range(days):
        day = date.fromordinal(start.toordinal() + offset)
        reason = spec.closed_reason(day)
        out.append(DayInfo(day, reason is None, reason))
    return out
