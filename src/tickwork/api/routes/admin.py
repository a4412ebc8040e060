"""/api/tokens, /api/audit and /api/auth/whoami."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from tickwork.api.deps import BeforeId, ContainerDep, operation_id
from tickwork.domain.errors import Unauthorized
from tickwork.schemas.admin import (
    AuditOut,
    PruneCountsOut,
    PruneIn,
    PruneOut,
    RetentionOut,
    TokenCreated,
    TokenIn,
    TokenOut,
)
from tickwork.schemas.system import WhoAmI

router = APIRouter(generate_unique_id_function=operation_id)


@router.post(
    "/api/tokens", status_code=201, response_model=TokenCreated, tags=["tokens"], name="create"
)
async def create_token(body: TokenIn, request: Request, c: ContainerDep) -> TokenCreated:
    """Create an API token (admin of every namespace): one ``role``, or ``scopes`` (a role
    per namespace). The secret is in this answer only."""
    expires = timedelta(days=body.expires_in_days) if body.expires_in_days else None
    record, secret = await c.tokens.create(
        name=body.name,
        role=body.role,
        scopes=body.scopes,
        worker_tags=body.worker_tags,
        rate_limit=body.rate_limit,
        expires_in=expires,
    )
    request.state.audit = {
        "target": record.id,
        "role": record.role,
        "name": record.name,
        "scopes": dict(record.scopes or {}),
    }
    return TokenCreated(**TokenOut.of(record).model_dump(), token=secret)


@router.get("/api/tokens", response_model=list[TokenOut], tags=["tokens"], name="list")
async def list_tokens(c: ContainerDep) -> list[TokenOut]:
    """Every token's metadata (never the secret)."""
    return [TokenOut.of(t) for t in await c.tokens.list_tokens()]


@router.delete("/api/tokens/{token_id}", status_code=204, tags=["tokens"], name="revoke")
async def revoke_token(token_id: str, c: ContainerDep) -> Response:
    """Revoke a token: it stops working at once on this coordinator and on every other
    that shares its Redis."""
    await c.tokens.revoke(token_id)
    return Response(status_code=204)


@router.get("/api/audit", response_model=list[AuditOut], tags=["audit"], name="list")
async def audit_log(
    c: ContainerDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    before: BeforeId = None,
    actor: Annotated[str | None, Query(max_length=200)] = None,
    action: Annotated[str | None, Query(max_length=40)] = None,
    namespace: Annotated[str | None, Query(max_length=63)] = None,
) -> list[AuditOut]:
    """Who created, changed, deleted, triggered, cancelled or paused what, newest first."""
    entries = await c.tokens.audit_log(
        limit=limit, before=before, actor=actor, action=action, namespace=namespace
    )
    return [
        AuditOut(
            id=e.id,
            at=e.at,
            actor=e.actor,
            role=e.role,
            action=e.action,
            target=e.target,
            namespace=e.namespace,
            details=e.details,
        )
        for e in entries
    ]


@router.post("/api/prune", response_model=PruneOut, tags=["retention"], name="prune")
async def prune(body: PruneIn, request: Request, c: ContainerDep) -> PruneOut:
    """Apply the retention policy now (admin): what the leader's background pass does every
    ``TICKWORK_PRUNE_INTERVAL`` seconds, in batches, for up to 10 s per call (``more`` says
    whether a backlog remains). With ``dry_run``: only count what would go."""
    counts, more = await c.pruner.prune_now(dry_run=body.dry_run)
    request.state.audit = {"target": "retention", "dry_run": body.dry_run, **counts.as_dict()}
    p = c.pruner.policy
    return PruneOut(
        dry_run=body.dry_run,
        pruned=PruneCountsOut(**counts.as_dict()),
        more=more,
        policy=RetentionOut(
            runs_days=p.runs_days,
            output_days=p.output_days,
            audit_days=p.audit_days,
            workers_days=p.workers_days,
            events_hours=p.events_hours,
        ),
    )


@router.get("/api/auth/whoami", response_model=WhoAmI, tags=["auth"], name="whoami")
async def whoami(request: Request, c: ContainerDep) -> WhoAmI:
    """The caller's identity; 401 when auth is on and no valid token was sent."""
    principal = getattr(request.state, "principal", None)
    if principal is None:
        raise Unauthorized("authentication required: send Authorization: Bearer <token>")
    return WhoAmI(
        name=principal.name,
        role=principal.role,
        auth=c.settings.auth,
        scopes=dict(principal.scopes or {"*": principal.role}),
    )
