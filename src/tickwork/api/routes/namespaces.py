"""/api/namespaces: the namespaces a token may read, with their job counts."""

from __future__ import annotations

from fastapi import APIRouter

from tickwork.api.deps import ContainerDep, PrincipalDep, operation_id
from tickwork.domain.namespaces import check_namespace
from tickwork.schemas.system import NamespaceList, NamespaceOut

router = APIRouter(tags=["namespaces"], generate_unique_id_function=operation_id)


@router.get("/api/namespaces", response_model=NamespaceList, name="list")
async def list_namespaces(c: ContainerDep, who: PrincipalDep) -> NamespaceList:
    """The namespaces the token may read that hold jobs (and those it names, and
    ``default`` when it may read it), each with its job count and the token's role there."""
    counts = await c.jobs.namespaces(who)
    return NamespaceList(
        namespaces=[NamespaceOut(name=ns, jobs=n, role=who.role_in(ns)) for ns, n in counts.items()]
    )


@router.get("/api/namespaces/{namespace}", response_model=NamespaceOut, name="get")
async def get_namespace(namespace: str, c: ContainerDep, who: PrincipalDep) -> NamespaceOut:
    """One namespace: its job count and the token's role there (403 when it may not read
    it; a namespace with no jobs yet answers with 0)."""
    check_namespace(namespace)
    who.require("read", namespace)
    counts = await c.jobs.namespaces(who)
    return NamespaceOut(name=namespace, jobs=counts.get(namespace, 0), role=who.role_in(namespace))
