"""WS /api/ws: live events, resumable with ?since=<last event id>."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from tickwork.api.auth import accept_websocket
from tickwork.api.deps import operation_id
from tickwork.domain.errors import ValidationError
from tickwork.domain.namespaces import EVERY_NAMESPACE, NamespaceFilter, check_namespace
from tickwork.domain.runs import Event
from tickwork.schemas.fields import INT64_MAX, text_problem
from tickwork.schemas.runs import EventOut
from tickwork.service.container import Container

log = logging.getLogger(__name__)

router = APIRouter(tags=["events"], generate_unique_id_function=operation_id)


@dataclass(frozen=True, slots=True)
class Filter:
    """What a connection asked for. Output chunks (run.log) go only to connections that
    watch one job or run, or ask with ?logs=true: at thousands of runs a second, an
    overview page should not receive every line every job prints."""

    job: str | None = None
    run: str | None = None
    logs: bool = False
    namespace: str | None = None
    namespaces: NamespaceFilter = EVERY_NAMESPACE  # what the token may read, narrowed

    def matches(self, event: Event) -> bool:
        if self.job is not None and event.job_id != self.job:
            return False
        if self.run is not None and event.run_id != self.run:
            return False
        return self.logs or event.type != "run.log"


def _message(event: Event, namespace: str | None) -> dict[str, Any]:
    return EventOut(
        id=event.id,
        type=event.type,
        ts=event.created_at,
        job_id=event.job_id,
        run_id=event.run_id,
        namespace=namespace,
        data=dict(event.data),
    ).model_dump(mode="json")


async def _send(ws: WebSocket, c: Container, events: list[Event], f: Filter) -> None:
    """Send the events the connection asked for and its token may read."""
    wanted = [e for e in events if f.matches(e)]
    if wanted:
        for event, ns in await c.events.visible(wanted, f.namespaces):
            await ws.send_json(_message(event, ns))


async def _catch_up(ws: WebSocket, c: Container, since: int, f: Filter) -> int:
    last = since
    while True:
        rows = await c.events.since(last, limit=1000, job_id=f.job, run_id=f.run)
        await _send(ws, c, rows, f)
        if rows:
            last = rows[-1].id
        if len(rows) < 1000:
            return last


async def _pump(ws: WebSocket, c: Container, since: int | None, f: Filter) -> None:
    # Take the starting point before listening, then catch up from it: an event committed
    # between the two is sent by the catch-up, and the live loop skips what was sent.
    start = since if since is not None else await c.events.last_id()
    async with c.events.listen() as queue:
        last = await _catch_up(ws, c, start, f)
        while True:
            event = await queue.get()
            if event.id > last and f.matches(event):
                await _send(ws, c, [event], f)
                last = max(last, event.id)


@router.websocket("/api/ws", name="events")
async def events_ws(ws: WebSocket) -> None:
    """Push events (run.*, job.*, worker.*) as JSON.

    ?since=<id> replays what was missed; ?job= or ?run= filter (and bring run.log output
    chunks); ?logs=true brings output chunks without a filter; ?namespace= keeps to one
    namespace. Only events of namespaces the token may read are sent (and those of no job,
    such as workers'). The token travels in an
    Authorization header or, from a browser, as the subprotocol ``tickwork.bearer.<token>``
    beside ``tickwork``; never in the URL. A refused connection is accepted and closed with
    4400 (a token in the URL, a Host not allowed), 4401 (no or bad token) or 4403 (a role
    that may not read, a page on another site).
    """
    c: Container = ws.app.state.container
    who = await accept_websocket(ws)
    if who is None:
        return
    try:
        since, wanted = _subscription(ws.query_params)
    except ValueError as exc:
        await ws.close(code=4400, reason=str(exc)[:120])
        return
    if wanted.namespace is not None and not who.may("read", wanted.namespace):
        await ws.close(code=4403, reason=f"may not read namespace '{wanted.namespace}'")
        return
    wanted = replace(wanted, namespaces=who.namespaces("read").narrowed(wanted.namespace))
    pump = asyncio.create_task(_pump(ws, c, since, wanted))
    listener = asyncio.create_task(_until_disconnect(ws))
    try:
        done, _ = await asyncio.wait({pump, listener}, return_when=asyncio.FIRST_COMPLETED)
        if pump in done and not pump.cancelled() and pump.exception() is not None:
            # never a silent socket: the client reconnects and catches up from its last id
            log.warning("event stream of a websocket failed: %r", pump.exception())
            with contextlib.suppress(Exception):
                await ws.close(code=1011, reason="the event stream failed; reconnect")
    finally:
        for task in (pump, listener):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


async def _until_disconnect(ws: WebSocket) -> None:
    """The client may send pings; a disconnect ends the connection."""
    with contextlib.suppress(WebSocketDisconnect):
        while True:
            await ws.receive_text()


def _subscription(params: Mapping[str, str]) -> tuple[int | None, Filter]:
    """``?since=`` and the filters, checked as strictly as an HTTP query (ValueError names
    the parameter): a value the database cannot take would otherwise end the stream."""
    since_raw = params.get("since")
    since = None
    if since_raw:
        if not since_raw.isdigit() or int(since_raw) > INT64_MAX:
            raise ValueError(f"since: must be an event id (0 to {INT64_MAX})")
        since = int(since_raw)
    for name in ("job", "run"):
        value = params.get(name)
        if value is None:
            continue
        problem = text_problem(value) or (
            "must be at most 200 characters" if len(value) > 200 else None
        )
        if problem:
            raise ValueError(f"{name}: {problem}")
    job, run = params.get("job"), params.get("run")
    logs = bool(job or run) or params.get("logs", "").lower() in ("1", "true", "yes")
    namespace = params.get("namespace")
    if namespace is not None:
        try:
            check_namespace(namespace)
        except ValidationError as exc:
            raise ValueError(exc.message) from exc
    return since, Filter(job=job, run=run, logs=logs, namespace=namespace)
