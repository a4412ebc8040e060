"""Follow one run live over the WebSocket ``/api/ws?run=<id>&since=<event id>`` (and, with
``watch_events``, every run, job and worker event of a coordinator, as `tickwork top` does).

The coordinator replays the run's stored events after ``since`` (0: all of them, kept for
``event_retention_hours``) and then pushes new ones. A finishing event ends the stream once the
run itself says it is finished (a failed run retried later goes on). When the socket stays quiet
the run is asked for directly, so a finished run is noticed even if its event was never seen.
Tokens go in the ``Authorization`` header, never in the URL (the server refuses a URL that
carries one: URLs end up in logs).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import TYPE_CHECKING
from urllib.parse import urlencode, urlsplit, urlunsplit

from tickwork.client.errors import AuthError, ClientError, ForbiddenError, UnreachableError
from tickwork.domain.runs import TERMINAL
from tickwork.schemas.runs import EventOut

if TYPE_CHECKING:
    from websockets.asyncio.client import ClientConnection

    from tickwork.client.core import AsyncClient

__all__ = ["FINISHING_EVENTS", "follow_events", "watch_events", "websocket_url"]

FINISHING_EVENTS = frozenset(f"run.{status}" for status in TERMINAL)
REFUSALS = {4401: AuthError, 4403: ForbiddenError, 1008: AuthError}
"""Close codes of a refused connection: 4000 + the HTTP status (1008 from older servers)."""
QUIET_CHECK = 5.0
"""Seconds without an event after which the run's status is read over HTTP."""


def websocket_url(base: str, **query: str) -> str:
    """``http://host:8000`` → ``ws://host:8000/api/ws?…`` (https → wss)."""
    parts = urlsplit(base)
    scheme = "wss" if parts.scheme == "https" else "ws"
    path = parts.path.rstrip("/") + "/api/ws"
    return urlunsplit((scheme, parts.netloc, path, urlencode(query), ""))


async def follow_events(
    client: AsyncClient, run_id: str, *, since: int = 0
) -> AsyncIterator[EventOut]:
    """The events of ``run_id`` from ``since`` on, until the run is finished."""
    if (await client.get_run(run_id)).status in TERMINAL:
        return  # nothing will happen any more; the caller reads the stored output
    url = websocket_url(client.url, run=run_id, since=str(since))
    async with _Connection(url, _headers(client)) as ws:
        while True:
            event = await _next_event(ws)
            if event is not None:
                yield event
            if await _finished(client, run_id, event):
                return


async def watch_events(
    client: AsyncClient, *, opened: Callable[[], object] | None = None
) -> AsyncIterator[EventOut]:
    """Every event of the client's namespace from now on (run.*, job.*, worker.*; output chunks
    left out), for as long
    as the connection lives: a closed one raises ``UnreachableError``, a refused one
    ``AuthError``. ``opened`` is called once the connection is up, before any event (a quiet
    stream may say nothing for a long time)."""
    url = websocket_url(client.url, namespace=client.namespace)
    async with _Connection(url, _headers(client)) as ws:
        if opened is not None:
            opened()
        while True:
            event = await _next_event(ws)
            if event is not None:
                yield event


def _headers(client: AsyncClient) -> dict[str, str]:
    return {"Authorization": f"Bearer {client.token}"} if client.token else {}


class _Connection:
    """``websockets.connect`` with its failures turned into tickwork's client errors."""

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        self.url = url
        self.headers = headers
        self.ws: ClientConnection | None = None

    async def __aenter__(self) -> ClientConnection:
        from websockets.asyncio.client import connect  # only followers load websockets
        from websockets.exceptions import InvalidStatus

        try:
            self.ws = await connect(self.url, additional_headers=self.headers, open_timeout=10)
        except InvalidStatus as exc:
            status = exc.response.status_code
            refused = _refusal(4000 + status, "the coordinator refused the event stream")
            raise refused or ClientError(f"event stream refused with HTTP {status}") from exc
        except (OSError, TimeoutError) as exc:
            raise UnreachableError(f"WS {self.url}: {exc}", maybe_applied=False) from exc
        return self.ws

    async def __aexit__(self, *exc: object) -> None:
        if self.ws is not None:
            await self.ws.close()


async def _next_event(ws: ClientConnection) -> EventOut | None:
    """The next event, or None after ``QUIET_CHECK`` seconds of silence."""
    from websockets.exceptions import ConnectionClosed

    try:
        raw = await asyncio.wait_for(ws.recv(), timeout=QUIET_CHECK)
    except TimeoutError:
        return None
    except ConnectionClosed as exc:
        refusal = _refusal(exc.rcvd.code, exc.rcvd.reason) if exc.rcvd is not None else None
        if refusal is not None:
            raise refusal from exc
        raise UnreachableError(f"the event stream closed: {exc}", maybe_applied=False) from exc
    return EventOut.model_validate_json(raw)


def _refusal(code: int, reason: str) -> AuthError | None:
    cls = REFUSALS.get(code)
    if cls is None:
        return None
    status = 403 if cls is ForbiddenError else 401
    return cls(status, "forbidden" if status == 403 else "unauthorized", reason or "refused")


async def _finished(client: AsyncClient, run_id: str, event: EventOut | None) -> bool:
    """After a finishing event (or a quiet spell): is the run finished, and was that event
    its latest finish (not one of an earlier series that a retry or replay reopened)?"""
    if event is not None and event.type not in FINISHING_EVENTS:
        return False
    run = await client.get_run(run_id)
    if run.status not in TERMINAL:
        return False
    if event is None or run.finished_at is None:
        return True
    return event.ts >= run.finished_at - SAME_FINISH


SAME_FINISH = timedelta(seconds=1)
