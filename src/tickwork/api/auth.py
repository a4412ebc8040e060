"""Who may call what: bearer tokens, one permission per operation, the audit trail."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import WebSocket
from fastapi.routing import APIRoute
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tickwork.api.guards import WS_SUBPROTOCOL
from tickwork.domain.auth import ANONYMOUS_OPEN, Principal
from tickwork.domain.errors import Forbidden, Unauthorized
from tickwork.domain.namespaces import ANY_NAMESPACE
from tickwork.domain.records import AuditNote
from tickwork.service.container import Container

log = logging.getLogger("tickwork.auth")

WS_BEARER = f"{WS_SUBPROTOCOL}.bearer."
"""A browser's WebSocket offers ``tickwork`` and ``tickwork.bearer.<token>`` as subprotocols."""
URL_TOKEN_REFUSED = (
    "a token in the URL is refused: send it in an Authorization header "
    f"or a {WS_BEARER}<token> subprotocol"
)

OPEN = "open"
# operation id → permission (read < operate < admin; work = the worker protocol).
# A route missing here needs admin: deny by default.
PERMISSIONS: dict[str, str] = {
    "system-health": OPEN,
    "auth-whoami": OPEN,
    "jobs-list": "read",
    "jobs-get": "read",
    "jobs-runs": "read",
    "dag-get": "read",
    "schedules-preview": "read",
    "runs-list": "read",
    "runs-get": "read",
    "runs-logs": "read",
    "dead-letters-list": "read",
    "dead-letters-groups": "read",
    "workers-list": "read",
    "system-stats": "read",
    "system-metrics": "read",
    "events-list": "read",
    "namespaces-list": "read",
    "namespaces-get": "read",
    "calendars-list": "read",
    "calendars-get": "read",
    "alert-channels-list": "read",
    "alert-channels-get": "read",
    "alert-rules-list": "read",
    "alert-rules-get": "read",
    "alerts-list": "read",
    "pipelines-list": "read",
    "pipelines-get": "read",
    "pipelines-runs": "read",
    "pipeline-runs-get": "read",
    "pipelines-trigger": "operate",
    "pipelines-pause": "operate",
    "pipelines-resume": "operate",
    "pipeline-runs-cancel": "operate",
    "pipeline-runs-retry": "operate",
    "pipelines-create": "admin",
    "pipelines-replace": "admin",
    "pipelines-delete": "admin",
    "alert-channels-test": "operate",
    "alert-channels-create": "admin",
    "alert-channels-replace": "admin",
    "alert-channels-delete": "admin",
    "alert-rules-create": "admin",
    "alert-rules-replace": "admin",
    "alert-rules-delete": "admin",
    "jobs-trigger": "operate",
    "jobs-pause": "operate",
    "jobs-resume": "operate",
    "runs-cancel": "operate",
    "runs-retry": "operate",
    "runs-bulk": "operate",
    "runs-bulk-cancel": "operate",
    "runs-bulk-retry": "operate",
    "dead-letters-bulk": "operate",
    "dead-letters-replay": "operate",
    "dead-letters-resolve": "operate",
    "jobs-create": "admin",
    "jobs-replace": "admin",
    "jobs-patch": "admin",
    "jobs-delete": "admin",
    "calendars-create": "admin",
    "calendars-replace": "admin",
    "calendars-delete": "admin",
    "tokens-create": "admin",
    "tokens-list": "admin",
    "tokens-revoke": "admin",
    "audit-list": "admin",
    "retention-prune": "admin",
    "namespaces-quotas": "admin",
    "workers-register": "work",
    "workers-heartbeat": "work",
    "workers-claim": "work",
    "workers-report": "work",
    "workers-deregister": "work",
    "runs-start": "work",
    "runs-append-logs": "work",
    "runs-complete": "work",
}
GLOBAL = frozenset(
    {
        "tokens-create",
        "tokens-list",
        "tokens-revoke",
        "audit-list",
        "retention-prune",
        "namespaces-quotas",
    }
)
"""Operations on no namespace: they need their permission from the token's ``*`` role."""
AUDITED = frozenset(
    op
    for op, perm in PERMISSIONS.items()
    if perm in ("operate", "admin") and op not in {"tokens-list", "audit-list"}
)


def bearer_token(headers: Any) -> str | None:
    """The token of an ``Authorization: Bearer`` header. Never from a URL: URLs are logged by
    servers and proxies, kept in browser history and sent on in Referer headers."""
    value = headers.get("authorization") or ""
    scheme, _, token = value.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return str(token.strip())
    return None


def websocket_token(ws: WebSocket) -> str | None:
    """A WebSocket's token: the Authorization header (programs), else the subprotocol
    ``tickwork.bearer.<token>`` (browsers, which cannot set headers on a WebSocket)."""
    token = bearer_token(ws.headers)
    if token is not None:
        return token
    for offered in ws.scope.get("subprotocols", ()):
        if offered.startswith(WS_BEARER) and len(offered) > len(WS_BEARER):
            return str(offered[len(WS_BEARER) :])
    return None


async def principal_for(c: Container, token: str | None) -> Principal:
    if not c.settings.auth:
        return ANONYMOUS_OPEN
    if token is None:
        raise Unauthorized("authentication required: send Authorization: Bearer <token>")
    return await c.tokens.authenticate(token)


async def authorize(request: HTTPConnection) -> None:
    """The app-wide dependency: authenticate, then check the operation's permission.

    WebSockets check their own token once accepted (see ``accept_websocket``).
    """
    if request.scope["type"] != "http":
        return
    route = request.scope.get("route")
    op = route.unique_id if isinstance(route, APIRoute) else None
    permission = PERMISSIONS.get(op or "", "admin") if op else OPEN
    c: Container = request.app.state.container
    if permission == OPEN:
        request.state.principal = await _optional(c, request)
        return
    principal = await principal_for(c, bearer_token(request.headers))
    if not principal.may(permission):  # in no namespace at all
        raise Forbidden(
            f"a {principal.role} token may not call {op} (needs {permission})",
            details={"role": principal.role, "needs": permission},
        )
    await c.api_rates.check(principal, worker_protocol=permission == "work")
    if op in GLOBAL and not principal.may(permission, ANY_NAMESPACE):
        raise Forbidden(
            f"{op} needs {permission} in every namespace (a '*' role of admin)",
            details={"namespace": ANY_NAMESPACE, "role": principal.role, "needs": permission},
        )
    request.state.principal = principal


async def _optional(c: Container, request: HTTPConnection) -> Principal | None:
    token = bearer_token(request.headers)
    if not c.settings.auth:
        return ANONYMOUS_OPEN
    if token is None:
        return None
    try:
        return await c.tokens.authenticate(token)
    except Unauthorized:
        return None


async def accept_websocket(ws: WebSocket) -> Principal | None:
    """Accept a WebSocket, then authenticate it: a refusal closes it with a code a browser can
    read (4400 a token in the URL, 4401 no or bad token, 4403 not allowed to read). The
    ``tickwork`` subprotocol is echoed when offered; the one carrying the token never is.
    The caller, or None when refused."""
    c: Container = ws.app.state.container
    offered = ws.scope.get("subprotocols", ())
    await ws.accept(subprotocol=WS_SUBPROTOCOL if WS_SUBPROTOCOL in offered else None)
    if "token" in ws.query_params:
        log.warning("refused websocket from %s: a token in its URL", ws.client)
        await ws.close(code=4400, reason=URL_TOKEN_REFUSED)
        return None
    try:
        principal = await principal_for(c, websocket_token(ws))
        if not principal.may("read"):
            raise Forbidden(f"a {principal.role} token may not read events")
    except (Unauthorized, Forbidden) as exc:
        log.warning("refused websocket from %s: %s", ws.client, exc.message)
        await ws.close(code=4000 + exc.status, reason=exc.message[:120])
        return None
    return principal


class AuditTrail:
    """Records every successful operator/admin write: who, what, which target, when."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        status = 0

        async def record_then_send(message: Message) -> None:
            # The entry is written before the last part of the response leaves, so a client
            # that reads the audit log right after its write finds the write in it.
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body" and not message.get("more_body", False):
                route = scope.get("route")
                op = route.unique_id if isinstance(route, APIRoute) else None
                if op in AUDITED and status < 400 and not _audited(scope):
                    await _record(scope, op, status)
            await send(message)

        await self.app(scope, receive, record_then_send)


def audit_note(request: HTTPConnection, action: str, **details: Any) -> AuditNote:
    """The audit entry of this request, for a route that writes it in its own transaction
    (a trigger): the trail then leaves the request alone."""
    principal = getattr(request.state, "principal", None) or ANONYMOUS_OPEN
    params = dict(request.path_params)
    request.state.audited = True
    return AuditNote(
        actor=principal.name,
        role=principal.role,
        action=action,
        target=next(iter(params.values()), None),
        details={**details, **params},
        namespace=getattr(request.state, "namespace", None),
    )


def _audited(scope: Scope) -> bool:
    return bool(scope.get("state", {}).get("audited"))


async def _record(scope: Scope, op: str, status: int) -> None:
    state = scope.get("state", {})
    principal = state.get("principal") or ANONYMOUS_OPEN
    params = dict(scope.get("path_params", {}))
    extra = state.get("audit", {})
    target = extra.pop("target", None) or next(iter(params.values()), None)
    # the namespace a job was created in, else the one a name was looked up in
    namespace = extra.pop("namespace", None) or state.get("namespace")
    c: Container = scope["app"].state.container
    try:
        await c.tokens.audit(
            principal, op, target, {"status": status, **params, **extra}, namespace=namespace
        )
    except Exception:  # the change happened; a lost audit row must be loud, not fatal
        log.exception("could not write the audit entry for %s %s", op, target)
