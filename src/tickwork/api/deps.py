"""Annotated dependency aliases shared by the routers.

Every dependency is ``async def``: FastAPI runs a plain ``def`` dependency in its thread
pool, a thread hop per request per dependency (``tests/api/test_deps.py`` holds the rule)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.routing import APIRoute
from starlette.requests import HTTPConnection

from tickwork.domain.auth import ANONYMOUS_OPEN, Principal
from tickwork.domain.errors import ValidationError
from tickwork.domain.namespaces import DEFAULT_NAMESPACE, NamespaceFilter, check_namespace
from tickwork.schemas.fields import INT32_MAX, INT64_MAX, text_problem
from tickwork.service.container import Container

MAX_PAGE = 500
"""The largest page any list answers (``max_page_size`` may only lower it)."""


async def get_container(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


ContainerDep = Annotated[Container, Depends(get_container)]


async def page_limit(
    request: Request,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="Page size.")] = 50,
) -> int:
    """The page size asked for, validated against the server's cap."""
    cap = (await get_container(request)).settings.max_page_size
    if limit > cap:
        raise ValidationError("limit", f"must be between 1 and {cap}")
    return limit


LimitDep = Annotated[int, Depends(page_limit)]


async def actor(request: Request) -> str:
    """Who is calling, as kept on what they change (``cancelled_by``): the token's name
    (with auth off, the anonymous principal's)."""
    principal = getattr(request.state, "principal", None)
    return str(principal.name) if principal is not None else "system"


ActorDep = Annotated[str, Depends(actor)]


def principal_of(request: Request) -> Principal:
    """Who is calling, as authenticated by ``authorize`` (with auth off, everyone may do
    everything)."""
    found = getattr(request.state, "principal", None)
    return found if isinstance(found, Principal) else ANONYMOUS_OPEN


async def principal(request: Request) -> Principal:
    """``principal_of`` as a dependency (async: no thread hop)."""
    return principal_of(request)


PrincipalDep = Annotated[Principal, Depends(principal)]


async def namespace_param(
    request: Request,
    namespace: Annotated[
        str | None,
        Query(
            max_length=63,
            description="The namespace a job name is looked up in (default: 'default'); "
            "a job id needs none.",
        ),
    ] = None,
) -> str:
    """The ``?namespace=`` of a route that finds a job by name (``default`` unless given);
    kept for the audit entry when a name (not an id) is looked up in it."""
    ns = check_namespace(namespace) if namespace is not None else DEFAULT_NAMESPACE
    ref = str(request.path_params.get("ref", ""))
    if ref and not ref.startswith("job-"):
        request.state.namespace = ns
    return ns


NamespaceDep = Annotated[str, Depends(namespace_param)]

BodyNamespace = Annotated[
    str | None,
    Query(max_length=63, description="The job's namespace, unless the body names one."),
]
"""The ``?namespace=`` of a route whose body may name the namespace itself (create, replace)."""


@dataclass(frozen=True, slots=True)
class ListScope:
    """A list's namespaces (``filter``) and the ``?namespace=`` asked for, if any: a job
    named in the list's own filters is looked up there (else in ``default``)."""

    filter: NamespaceFilter
    asked: str | None

    @property
    def lookup(self) -> str:
        return self.asked or DEFAULT_NAMESPACE


async def namespace_filter(
    request: Request,
    namespace: Annotated[
        str | None,
        Query(
            max_length=63,
            description="Only this namespace (default: every namespace the token may read).",
        ),
    ] = None,
) -> ListScope:
    """What a list shows: the namespaces the token may read, narrowed to ``?namespace=``
    (Forbidden when the token may not read that one)."""
    who = principal_of(request)
    if namespace is not None:
        who.require("read", check_namespace(namespace))
    return ListScope(who.namespaces("read").narrowed(namespace), namespace)


NamespacesDep = Annotated[ListScope, Depends(namespace_filter)]

BeforeId = Annotated[
    int | None, Query(ge=1, le=INT64_MAX, description="Entries older than this id.")
]
Offset = Annotated[int, Query(ge=0, le=INT32_MAX, description="Entries to skip.")]


async def plain_parameters(request: HTTPConnection) -> None:
    """422 for a path, query or header value no database can store (NUL, lone surrogates),
    naming it. Request bodies are held to the same rule by their field types
    (``tickwork.schemas.fields``); this covers every route's parameters, including ones
    added later, since it runs for every request."""
    if request.scope["type"] != "http":
        return
    for kind, items in (
        ("path", request.path_params.items()),
        ("query", request.query_params.multi_items()),
        ("header", request.headers.items()),
    ):
        for name, value in items:
            if (problem := text_problem(name)) is not None:
                raise ValidationError(kind, f"a {kind} parameter's name {problem}")
            if (problem := text_problem(str(value))) is not None:
                raise ValidationError(name, problem)


def operation_id(route: APIRoute) -> str:
    """Operation ids are ``tag-name`` (``jobs-create``), the most specific tag; the
    permission table uses them."""
    return f"{route.tags[-1]}-{route.name}" if route.tags else route.name
