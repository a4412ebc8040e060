"""/api/namespaces: the namespaces a token may read, with their job counts, quotas and
their use; an admin of every namespace sets a namespace's quotas."""

from __future__ import annotations

from fastapi import APIRouter

from tickwork.api.deps import ContainerDep, PrincipalDep, operation_id
from tickwork.domain.namespaces import check_namespace
from tickwork.schemas.system import NamespaceList, NamespaceOut, QuotasIn

router = APIRouter(tags=["namespaces"], generate_unique_id_function=operation_id)


@router.get("/api/namespaces", response_model=NamespaceList, name="list")
async def list_namespaces(c: ContainerDep, who: PrincipalDep) -> NamespaceList:
    """The namespaces the token may read that hold jobs (and those it names, and
    ``default`` when it may read it), each with its job count, the token's role there, its
    quotas and their use."""
    counts = await c.jobs.namespaces(who)
    quotas = await c.quotas.get(list(counts))
    return NamespaceList(
        namespaces=[
            NamespaceOut.of(ns, n, who.role_in(ns), *quotas[ns]) for ns, n in counts.items()
        ]
    )


@router.get("/api/namespaces/{namespace}", response_model=NamespaceOut, name="get")
async def get_namespace(namespace: str, c: ContainerDep, who: PrincipalDep) -> NamespaceOut:
    """One namespace: its job count, the token's role there, its quotas and their use now
    (403 when it may not read it; a namespace with no jobs yet answers with 0)."""
    check_namespace(namespace)
    who.require("read", namespace)
    counts = await c.jobs.namespaces(who)
    quotas, usage = (await c.quotas.get([namespace]))[namespace]
    return NamespaceOut.of(
        namespace, counts.get(namespace, 0), who.role_in(namespace), quotas, usage
    )


@router.put("/api/namespaces/{namespace}/quotas", response_model=NamespaceOut, name="quotas")
async def set_quotas(
    namespace: str, body: QuotasIn, c: ContainerDep, who: PrincipalDep
) -> NamespaceOut:
    """Replace a namespace's quotas and tag rate limits (an admin of every namespace: a
    team's own admin may not raise its own limits). Runs already queued or running stay;
    from now on creates and triggers over a quota get 429 and runs over ``max_running``
    wait. A tag whose rate limit is unchanged keeps its window."""
    quotas, usage = await c.quotas.set(namespace, body.to_quotas(), who=who)
    counts = await c.jobs.namespaces(who)
    return NamespaceOut.of(
        namespace, counts.get(namespace, 0), who.role_in(namespace), quotas, usage
    )
