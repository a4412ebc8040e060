"""/api/alert-channels, /api/alert-rules and /api/alerts: where alerts go, what raises
them, and every alert with its delivery attempts (service/alerts.py)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response

from tickwork.api.deps import (
    BeforeId,
    BodyNamespace,
    ContainerDep,
    LimitDep,
    NamespaceDep,
    NamespacesDep,
    PrincipalDep,
    operation_id,
)
from tickwork.domain.errors import ValidationError
from tickwork.schemas.alerts import (
    AlertList,
    AlertOut,
    ChannelIn,
    ChannelList,
    ChannelOut,
    ChannelTestOut,
    RuleIn,
    RuleList,
    RuleOut,
)

channels = APIRouter(tags=["alert-channels"], generate_unique_id_function=operation_id)
rules = APIRouter(tags=["alert-rules"], generate_unique_id_function=operation_id)
alerts = APIRouter(tags=["alerts"], generate_unique_id_function=operation_id)


def _same_name(path: str, body: str) -> None:
    if path != body:
        raise ValidationError("name", f"the body names '{body}' but the path '{path}'")


@channels.post("/api/alert-channels", status_code=201, response_model=ChannelOut, name="create")
async def create_channel(
    body: ChannelIn,
    request: Request,
    c: ContainerDep,
    who: PrincipalDep,
    namespace: BodyNamespace = None,
) -> ChannelOut:
    """Add a channel to a namespace (admin there): `webhook` (url, optional signing
    `secret`), `slack` (an incoming-webhook url) or `email` (`to` addresses; SMTP from the
    server's TICKWORK_SMTP_* settings). The url and secret are never returned. 409 if the
    name is taken in the namespace."""
    ch = await c.alerts.put_channel(body.to_channel(namespace), create=True, who=who)
    request.state.audit = {"target": ch.name, "namespace": ch.namespace}
    return ChannelOut.of(ch)


@channels.get("/api/alert-channels", response_model=ChannelList, name="list")
async def list_channels(c: ContainerDep, scope: NamespacesDep) -> ChannelList:
    """Channels of the namespaces the token may read (urls masked, secrets as has_secret)."""
    return ChannelList(channels=[ChannelOut.of(ch) for ch in await c.alerts.channels(scope.filter)])


@channels.get("/api/alert-channels/{name}", response_model=ChannelOut, name="get")
async def get_channel(
    name: str, c: ContainerDep, namespace: NamespaceDep, who: PrincipalDep
) -> ChannelOut:
    """A channel of ``?namespace=`` (default: 'default')."""
    return ChannelOut.of(await c.alerts.channel(namespace, name, who=who))


@channels.put("/api/alert-channels/{name}", response_model=ChannelOut, name="replace")
async def replace_channel(
    name: str,
    body: ChannelIn,
    request: Request,
    c: ContainerDep,
    who: PrincipalDep,
    namespace: BodyNamespace = None,
) -> ChannelOut:
    """Replace a channel. A url or secret left out of the body is kept (they are never
    returned, so a client cannot send them back); ``"secret": null`` removes the secret."""
    _same_name(name, body.name)
    ns = body.namespace or namespace or "default"
    stored = await c.alerts.channel(ns, name, who=who)
    ch = await c.alerts.put_channel(body.to_channel(namespace, stored), create=False, who=who)
    request.state.audit = {"namespace": ch.namespace}
    return ChannelOut.of(ch)


@channels.delete("/api/alert-channels/{name}", status_code=204, name="delete")
async def delete_channel(
    name: str, request: Request, c: ContainerDep, namespace: NamespaceDep, who: PrincipalDep
) -> Response:
    """Delete a channel; 409 while a rule sends to it."""
    await c.alerts.delete_channel(namespace, name, who=who)
    request.state.audit = {"namespace": namespace}
    return Response(status_code=204)


@channels.post("/api/alert-channels/{name}/test", response_model=ChannelTestOut, name="test")
async def test_channel(
    name: str, request: Request, c: ContainerDep, namespace: NamespaceDep, who: PrincipalDep
) -> ChannelTestOut:
    """Send a test message through the channel now (operate) and answer how it went; a
    failed delivery is a 200 with ``ok: false`` and the reason (never the url or secret)."""
    result = await c.alerts.test_channel(namespace, name, who=who)
    request.state.audit = {"namespace": namespace, "ok": result.ok}
    return ChannelTestOut(ok=result.ok, error=result.error, seconds=round(result.seconds, 3))


@rules.post("/api/alert-rules", status_code=201, response_model=RuleOut, name="create")
async def create_rule(
    body: RuleIn,
    request: Request,
    c: ContainerDep,
    who: PrincipalDep,
    namespace: BodyNamespace = None,
) -> RuleOut:
    """Add a rule to a namespace (admin there): which events (run.failed after the last
    retry, run.dead_lettered, run.missed, run.retrying, sla.breached, job.silent,
    worker.lost, queue.backlog) of which jobs of the namespace ("*", a name, "tag:x") go to
    which of its channels. 422 names an unknown event or channel."""
    rule = await c.alerts.put_rule(body.to_rule(namespace), create=True, who=who)
    request.state.audit = {"target": rule.name, "namespace": rule.namespace}
    return RuleOut.of(rule)


@rules.get("/api/alert-rules", response_model=RuleList, name="list")
async def list_rules(c: ContainerDep, scope: NamespacesDep) -> RuleList:
    """Rules of the namespaces the token may read."""
    return RuleList(rules=[RuleOut.of(r) for r in await c.alerts.rules(scope.filter)])


@rules.get("/api/alert-rules/{name}", response_model=RuleOut, name="get")
async def get_rule(
    name: str, c: ContainerDep, namespace: NamespaceDep, who: PrincipalDep
) -> RuleOut:
    """A rule of ``?namespace=`` (default: 'default')."""
    return RuleOut.of(await c.alerts.rule(namespace, name, who=who))


@rules.put("/api/alert-rules/{name}", response_model=RuleOut, name="replace")
async def replace_rule(
    name: str,
    body: RuleIn,
    request: Request,
    c: ContainerDep,
    who: PrincipalDep,
    namespace: BodyNamespace = None,
) -> RuleOut:
    """Replace a rule (validated like a create)."""
    _same_name(name, body.name)
    rule = await c.alerts.put_rule(body.to_rule(namespace), create=False, who=who)
    request.state.audit = {"namespace": rule.namespace}
    return RuleOut.of(rule)


@rules.delete("/api/alert-rules/{name}", status_code=204, name="delete")
async def delete_rule(
    name: str, request: Request, c: ContainerDep, namespace: NamespaceDep, who: PrincipalDep
) -> Response:
    """Delete a rule (its alerts stay in the history)."""
    await c.alerts.delete_rule(namespace, name, who=who)
    request.state.audit = {"namespace": namespace}
    return Response(status_code=204)


@alerts.get("/api/alerts", response_model=AlertList, name="list")
async def list_alerts(
    c: ContainerDep,
    scope: NamespacesDep,
    limit: LimitDep,
    before: BeforeId = None,
    status: Annotated[
        Literal["pending", "sent", "failed", "held", "digested"] | None, Query()
    ] = None,
    rule: Annotated[str | None, Query(max_length=200)] = None,
) -> AlertList:
    """Alerts newest first, each with its delivery attempts and a link to its run in the
    dashboard (under TICKWORK_PUBLIC_URL); keyset pages (``?before=`` the ``next_before``)."""
    got, nxt = await c.alerts.list_alerts(
        scope.filter, status=status, rule=rule, limit=limit, before=before
    )
    url = c.settings.public_url
    return AlertList(alerts=[AlertOut.of(a, url) for a in got], next_before=nxt)
