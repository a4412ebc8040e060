"""/api/calendars: business calendars that jobs name to skip (or move) ticks on closed days."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from tickwork.api.deps import (
    BodyNamespace,
    ContainerDep,
    NamespacesDep,
    PrincipalDep,
    operation_id,
)
from tickwork.domain.namespaces import DEFAULT_NAMESPACE, check_namespace
from tickwork.schemas.calendars import (
    CalendarChangedOut,
    CalendarDetailOut,
    CalendarIn,
    CalendarList,
    CalendarOut,
    DayOut,
)

router = APIRouter(tags=["calendars"], generate_unique_id_function=operation_id)

CalendarNamespace = Annotated[
    str | None,
    Query(max_length=63, description="The calendar's namespace (default: 'default')."),
]


def _namespace(namespace: str | None) -> str:
    return check_namespace(namespace) if namespace is not None else DEFAULT_NAMESPACE


@router.post("/api/calendars", status_code=201, response_model=CalendarOut, name="create")
async def create_calendar(
    body: CalendarIn,
    request: Request,
    c: ContainerDep,
    who: PrincipalDep,
    namespace: BodyNamespace = None,
) -> CalendarOut:
    """Create a business calendar in its namespace (the body's, else ``?namespace=``, else
    ``default``; needs admin there). 422 names the field at fault (an unknown country or
    subdivision, a bad date, no weekday and no include_dates); 409 if the name is taken."""
    calendar = await c.calendars.create(body.to_spec(namespace), who=who)
    request.state.audit = {"target": calendar.name, "namespace": calendar.spec.namespace}
    return CalendarOut.of(calendar)


@router.get("/api/calendars", response_model=CalendarList, name="list")
async def list_calendars(c: ContainerDep, scope: NamespacesDep) -> CalendarList:
    """The calendars of the namespaces the token may read (or of ``?namespace=``)."""
    found = await c.calendars.list_calendars(scope.filter)
    return CalendarList(calendars=[CalendarOut.of(cal) for cal in found])


@router.get("/api/calendars/{name}", response_model=CalendarDetailOut, name="get")
async def get_calendar(
    name: str,
    c: ContainerDep,
    who: PrincipalDep,
    namespace: CalendarNamespace = None,
    days: Annotated[int, Query(ge=1, le=366, description="Coming days to list.")] = 30,
) -> CalendarDetailOut:
    """A calendar, the jobs that name it and its coming days (business or not, and why)."""
    ns = _namespace(namespace)
    calendar = await c.calendars.get(name, ns, who=who)
    return CalendarDetailOut(
        **CalendarOut.of(calendar).model_dump(),
        jobs=await c.calendars.users(name, ns),
        days=[DayOut.of(d) for d in c.calendars.upcoming(calendar.spec, days)],
    )


@router.put("/api/calendars/{name}", response_model=CalendarChangedOut, name="replace")
async def replace_calendar(
    name: str,
    body: CalendarIn,
    request: Request,
    c: ContainerDep,
    who: PrincipalDep,
    namespace: BodyNamespace = None,
) -> CalendarChangedOut:
    """Replace a calendar's definition; the ``next_run`` of every enabled job that names it
    is recomputed in the same transaction (422 ``calendar``, nothing changed, when a job
    would be left with no fire time)."""
    calendar, moved = await c.calendars.replace(name, body.to_spec(namespace), who=who)
    request.state.audit = {"target": name, "namespace": calendar.spec.namespace}
    return CalendarChangedOut(**CalendarOut.of(calendar).model_dump(), recomputed=moved)


@router.delete("/api/calendars/{name}", status_code=204, name="delete")
async def delete_calendar(
    name: str,
    request: Request,
    c: ContainerDep,
    who: PrincipalDep,
    namespace: CalendarNamespace = None,
) -> Response:
    """Delete a calendar. 409, naming them, while jobs name it."""
    ns = _namespace(namespace)
    await c.calendars.delete(name, ns, who=who)
    request.state.audit = {"target": name, "namespace": ns}
    return Response(status_code=204)
