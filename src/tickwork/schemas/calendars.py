"""Wire models for business calendars."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from tickwork.domain.calendars import (
    Calendar,
    CalendarSpec,
    DayInfo,
    HolidaySet,
    validate_calendar,
)
from tickwork.domain.errors import ValidationError
from tickwork.domain.namespaces import DEFAULT_NAMESPACE
from tickwork.schemas.fields import Count, Text


class HolidaysIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    country: Text = Field(
        min_length=2,
        max_length=10,
        description="ISO 3166-1 alpha-2 country code known to the holidays package (DE, US…).",
    )
    subdivision: Text | None = Field(
        default=None, max_length=20, description="A subdivision of the country (BY, CA…)."
    )


class CalendarIn(BaseModel):
    """A business calendar. A date in include_dates is a business day whatever else says."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "de-business",
                    "weekdays": [1, 2, 3, 4, 5],
                    "holidays": {"country": "DE", "subdivision": "BY"},
                    "exclude_dates": ["2026-12-24"],
                    "include_dates": [],
                }
            ]
        },
    )

    name: Text = Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9._-]+$")
    namespace: Text | None = Field(
        default=None,
        max_length=63,
        description="The calendar's namespace (unset: the request's ?namespace=, else "
        "'default'); jobs of that namespace may name it.",
    )
    weekdays: list[Annotated[Count, Field(ge=1, le=7)]] = Field(
        default_factory=lambda: [1, 2, 3, 4, 5],
        max_length=7,
        description="Working ISO weekdays, 1 = Monday … 7 = Sunday.",
    )
    holidays: HolidaysIn | None = Field(
        default=None, description="Public holidays (not business days) of a country."
    )
    exclude_dates: list[date] = Field(
        default_factory=list, max_length=5000, description="Extra non-business days."
    )
    include_dates: list[date] = Field(
        default_factory=list,
        max_length=5000,
        description="Business days whatever the weekday, holidays or exclude_dates say.",
    )
    description: Text = Field(default="", max_length=2000)

    def to_spec(self, namespace: str | None = None) -> CalendarSpec:
        if self.namespace is not None and namespace is not None and self.namespace != namespace:
            raise ValidationError(
                "namespace", f"the body says '{self.namespace}' but the request '{namespace}'"
            )
        return CalendarSpec(
            name=self.name,
            namespace=self.namespace or namespace or DEFAULT_NAMESPACE,
            weekdays=tuple(self.weekdays),
            holidays=HolidaySet(self.holidays.country, self.holidays.subdivision)
            if self.holidays
            else None,
            exclude_dates=tuple(self.exclude_dates),
            include_dates=tuple(self.include_dates),
            description=self.description,
        )


def inline_calendar(
    *,
    weekdays: str | None,
    country: str | None,
    subdivision: str | None,
    exclude_dates: str | None,
    include_dates: str | None,
) -> CalendarSpec | None:
    """A calendar given in a preview's query (comma-separated weekdays and ISO dates), or None
    when none of its fields is; checked like a stored one (422 naming the field)."""
    given = (weekdays, country, subdivision, exclude_dates, include_dates)
    if all(v is None for v in given):
        return None
    if subdivision is not None and country is None:
        raise ValidationError("country", "is needed with a subdivision")
    spec = CalendarSpec(
        name="inline",
        weekdays=(1, 2, 3, 4, 5) if weekdays is None else _numbers("weekdays", weekdays),
        holidays=HolidaySet(country, subdivision) if country else None,
        exclude_dates=_dates("exclude_dates", exclude_dates),
        include_dates=_dates("include_dates", include_dates),
    )
    return validate_calendar(spec)


def _items(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


def _numbers(field: str, text: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in _items(text))
    except ValueError:
        raise ValidationError(field, f"{text!r} is not a comma-separated list of 1 … 7") from None


def _dates(field: str, text: str | None) -> tuple[date, ...]:
    out = []
    for part in _items(text):
        try:
            out.append(date.fromisoformat(part))
        except ValueError:
            raise ValidationError(field, f"{part!r} is not an ISO date (YYYY-MM-DD)") from None
    return tuple(out)


class HolidaysOut(BaseModel):
    country: str
    subdivision: str | None


class CalendarOut(BaseModel):
    name: str
    namespace: str
    weekdays: list[int]
    holidays: HolidaysOut | None
    exclude_dates: list[date]
    include_dates: list[date]
    description: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, calendar: Calendar) -> CalendarOut:
        s = calendar.spec
        return cls(
            name=s.name,
            namespace=s.namespace,
            weekdays=list(s.weekdays),
            holidays=HolidaysOut(country=s.holidays.country, subdivision=s.holidays.subdivision)
            if s.holidays
            else None,
            exclude_dates=list(s.exclude_dates),
            include_dates=list(s.include_dates),
            description=s.description,
            created_at=calendar.created_at,
            updated_at=calendar.updated_at,
        )


class CalendarList(BaseModel):
    calendars: list[CalendarOut]


class DayOut(BaseModel):
    day: date
    business: bool
    reason: str | None = Field(description="Why not a business day: 'weekend', 'holiday: …'.")

    @classmethod
    def of(cls, info: DayInfo) -> DayOut:
        return cls(day=info.day, business=info.business, reason=info.reason)


class CalendarDetailOut(CalendarOut):
    jobs: list[str] = Field(description="The jobs of the namespace that name this calendar.")
    days: list[DayOut] = Field(description="The coming days (?days=, from today, UTC).")


class CalendarChangedOut(CalendarOut):
    recomputed: dict[str, datetime | None] = Field(
        default_factory=dict,
        description="The jobs (by id) whose next_run the change recomputed, with the new one.",
    )
