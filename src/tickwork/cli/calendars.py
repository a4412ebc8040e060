"""`tickwork calendars list|show|preview|delete`, and the calendars half of `tickwork apply`.

Calendars are declared in apply files (``calendars:`` beside ``jobs:``) and applied before the
jobs, so a job may name a calendar the same file creates. Apply creates and replaces
calendars; it never deletes one (``tickwork calendars delete`` does, once no job names it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

import typer
from rich.console import Console
from rich.table import Table

from tickwork.cli.common import (
    JsonOpt,
    ServerOpt,
    TokenOpt,
    YesOpt,
    confirm,
    err,
    out,
    print_json,
    session,
)
from tickwork.client import Client, NotFoundError
from tickwork.domain.calendars import validate_calendar
from tickwork.schemas.calendars import CalendarIn, CalendarOut

app = typer.Typer(help="List, inspect, preview and delete business calendars.")

NameArg = Annotated[str, typer.Argument(help="Calendar name.", show_default=False)]
CalendarAction = Literal["create", "update", "unchanged"]
_MARKS = {"create": ("+", "green"), "update": ("~", "yellow"), "unchanged": ("=", "dim")}


@app.command("list")
def list_(server: ServerOpt = None, token: TokenOpt = None, as_json: JsonOpt = False) -> None:
    """The namespace's calendars: weekdays, holidays, excluded and included dates."""
    with session(server, token) as client:
        found = client.list_calendars()
    if as_json:
        print_json(found)
        return
    table = Table("name", "weekdays", "holidays", "exclude", "include", box=None)
    for cal in found:
        table.add_row(*_summary(cal))
    out().print(table)
    err().print(f"{len(found)} calendar(s)")


@app.command("show")
def show(
    name: NameArg,
    days: Annotated[int, typer.Option(help="Coming days to list.")] = 14,
    server: ServerOpt = None,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """A calendar, the jobs that name it and its coming days (business or not, and why)."""
    with session(server, token) as client:
        detail = client.get_calendar(name, days=days)
    if as_json:
        print_json(detail)
        return
    console = out()
    _, weekdays, holidays, exclude, include = _summary(detail)
    console.print(f"[bold]{detail.name}[/] ({detail.namespace})  {detail.description}")
    console.print(f"weekdays {weekdays} · holidays {holidays}")
    console.print(f"exclude {exclude} · include {include}")
    console.print(f"jobs: {', '.join(detail.jobs) or '-'}")
    table = Table("day", "", "business", "why not", box=None)
    for d in detail.days:
        mark = "[green]yes[/]" if d.business else "[red]no[/]"
        table.add_row(d.day.isoformat(), d.day.strftime("%a"), mark, d.reason or "")
    console.print(table)


@app.command("preview")
def preview(
    schedule: Annotated[str, typer.Argument(help="cron, interval or ISO datetime.")],
    calendar: Annotated[str, typer.Option("--calendar", "-c", help="Calendar name.")],
    policy: Annotated[str, typer.Option(help="skip or next_business_day.")] = "skip",
    timezone: Annotated[str, typer.Option(help="IANA time zone.")] = "UTC",
    n: Annotated[int, typer.Option("-n", help="Fire times to show.")] = 10,
    server: ServerOpt = None,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The next fire times of a schedule under a calendar, with the skipped days and why."""
    with session(server, token) as client:
        found = client.preview_schedule(
            schedule, timezone=timezone, n=n, calendar=calendar, calendar_policy=policy
        )
    if as_json:
        print_json(found)
        return
    console = out()
    for tick in found.ticks:
        when = tick.at.isoformat()
        if tick.fires:
            console.print(f"[green]fires[/]    {when}")
        else:
            many = f" ({tick.count} ticks)" if tick.count > 1 else ""
            console.print(f"[dim]skipped  {when}  {tick.reason}{many}[/]", soft_wrap=True)


@app.command("delete")
def delete(
    name: NameArg, yes: YesOpt = False, server: ServerOpt = None, token: TokenOpt = None
) -> None:
    """Delete a calendar (refused while jobs name it)."""
    confirm(f"Delete calendar {name}?", yes=yes)
    with session(server, token) as client:
        client.delete_calendar(name)
    err().print(f"deleted calendar {name}")


def _summary(cal: CalendarOut) -> tuple[str, str, str, str, str]:
    holidays = "-"
    if cal.holidays is not None:
        sub = f"-{cal.holidays.subdivision}" if cal.holidays.subdivision else ""
        holidays = f"{cal.holidays.country}{sub}"
    weekdays = ",".join(str(d) for d in cal.weekdays) or "-"
    exclude = ", ".join(d.isoformat() for d in cal.exclude_dates) or "-"
    include = ", ".join(d.isoformat() for d in cal.include_dates) or "-"
    return cal.name, weekdays, holidays, exclude, include


# --- apply ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CalendarStep:
    action: CalendarAction
    name: str
    body: dict[str, Any]
    changed: tuple[str, ...] = ()


COMPARED = ("weekdays", "holidays", "exclude_dates", "include_dates", "description")


def plan_calendars(client: Client, declared: list[CalendarIn]) -> list[CalendarStep]:
    """Create the calendars the server lacks, replace those that differ (compared with the
    defaults the file leaves out filled in), leave the rest."""
    steps = []
    for cal in declared:
        body = _normalised(cal)
        try:
            current = client.get_calendar(cal.name, days=1)
        except NotFoundError:
            steps.append(CalendarStep("create", cal.name, body))
            continue
        have = current.model_dump(mode="json")
        changed = tuple(f for f in COMPARED if have.get(f) != body.get(f))
        steps.append(CalendarStep("update" if changed else "unchanged", cal.name, body, changed))
    return steps


def _normalised(cal: CalendarIn) -> dict[str, Any]:
    """The body to send, as the server will store it (sorted, upper-case codes)."""
    spec = validate_calendar(cal.to_spec())
    where = spec.holidays
    return {
        "name": spec.name,
        "weekdays": list(spec.weekdays),
        "holidays": {"country": where.country, "subdivision": where.subdivision} if where else None,
        "exclude_dates": [d.isoformat() for d in spec.exclude_dates],
        "include_dates": [d.isoformat() for d in spec.include_dates],
        "description": spec.description,
    }


def show_calendar_plan(console: Console, steps: list[CalendarStep]) -> None:
    for step in steps:
        mark, style = _MARKS[step.action]
        fields = f"  ({', '.join(step.changed)})" if step.changed else ""
        console.print(f"[{style}]{mark} {step.action:<9} calendar {step.name}{fields}[/]")


def apply_calendars(client: Client, steps: list[CalendarStep], *, quiet: bool) -> None:
    for step in steps:
        if step.action == "create":
            client.create_calendar(step.body)
        elif step.action == "update":
            client.replace_calendar(step.name, step.body)
        else:
            continue
        if not quiet:
            err().print(f"[{_MARKS[step.action][1]}]{step.action}d[/] calendar {step.name}")
