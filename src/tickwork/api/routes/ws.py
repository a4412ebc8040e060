"""WS /api/ws: live events, resumable with ?since=<last event id>."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from tickwork.api.auth import accept_websocket
from tickwork.api.deps import operation_id
from tickwork.domain.runs import Event
from tickwork.schemas.runs import EventOut
from tickwork.service.container import Container

router = APIRouter(tags=["events"], generate_unique_id_function=operation_id)


@dataclass(frozen=True, slots=True)
class Filter:
    """What a connection asked for. Output chunks (run.log) go only to connections that
    watch one job or run, or ask with ?logs=true: at thousands of runs a second, an
    overview page should not receive every line every job prints."""

    job: str | None = None
    run: str | None = None
    logs: bool = False

    def matches(self, event: Event) -> bool:
        if self.job is not None and event.job_id != self.job:
            return False
        if self.run is not None and event.run_id != self.run:
            return False
        return self.logs or event.type != "run.log"


def _message(event: Event) -> dict[str, Any]:
    return EventOut(
        id=event.id,
        type=event.type,
        ts=event.created_at,
        job_id=event.job_id,
        run_id=event.run_id,
        data=dict(event.data),
    ).model_dump(mode="json")


async def _catch_up(ws: WebSocket, c: Container, since: int, f: Filter) -> int:
    last = since
    while True:
        rows = await c.events.since(last, limit=1000, job_id=f.job, run_id=f.run)
        for event in rows:
            if f.matches(event):
                await ws.send_json(_message(event))
            last = event.id
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
                await ws.send_json(_message(event))
                last = max(last, event.id)


@router.websocket("/api/ws", name="events")
async def events_ws(ws: WebSocket) -> None:
    """Push events (run.*, job.*, worker.*) as JSON.

    ?since=<id> replays what was missed; ?job= or ?run= filter (and bring run.log output
    chunks); ?logs=true brings output chunks without a filter. The token travels in an
    Authorization header or, from a browser, as the subprotocol ``tickwork.bearer.<token>``
    beside ``tickwork``; never in the URL. A refused connection is accepted and closed with
    4400 (a token in the URL, a Host not allowed), 4401 (no or bad token) or 4403 (a role
    that may not read, a page on another site).
    """
    c: Container = ws.app.state.container
    if not await accept_websocket(ws):
        return
    params = ws.query_params
    since_raw = params.get("since")
    since = int(since_raw) if since_raw and since_raw.isdigit() else None
    job, run = params.get("job"), params.get("run")
    logs = bool(job or run) or params.get("logs", "").lower() in ("1", "true", "yes")
    pump = asyncio.create_task(_pump(ws, c, since, Filter(job=job, run=run, logs=logs)))
    try:
        while True:  # the client may send pings; a disconnect ends the pump
            await ws.receive_text()
    except WebSocketDisconnect:
        pass
    finally:
        pump.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await pump
