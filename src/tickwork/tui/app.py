"""`tickwork top`: a live view of one coordinator in a terminal, and the keys to act on it.

Two loops feed it. The event loop follows the coordinator's WebSocket (``/api/ws``, every
run.*, job.* and worker.* event, no output chunks) and asks for a refresh on each event; the
refresh loop reads a ``Snapshot`` (five cheap API reads) when asked, and at least every
``interval`` seconds so elapsed times move and a lost event costs nothing. Either loop that
loses the coordinator says "disconnected, retrying" and keeps trying; a refused token says
why. Everything goes through ``AsyncClient``: the terminal holds no database credentials.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from tickwork.client import AsyncClient, AuthError, ClientError, RetryPolicy, UnreachableError
from tickwork.client.follow import watch_events
from tickwork.domain.clock import Clock, SystemClock
from tickwork.schemas.runs import EventOut, RunOut
from tickwork.tui.data import Snapshot, read_snapshot, stats_line
from tickwork.tui.panels import FailuresTable, Panel, RunsTable, WorkersTable
from tickwork.tui.screens import ConfirmScreen, LogScreen, TriggerScreen, explain

__all__ = ["HELP", "TopApp"]

T = TypeVar("T")

HELP = "t trigger · c cancel · r retry · l/Enter log · Tab panel · ↑↓ select · q quit"
PANEL_ACTIONS = frozenset({"trigger", "cancel", "retry", "logs"})
MIN_GAP = 0.2
"""Seconds between two refreshes at least, however many events arrive."""
MAX_RETRY_DELAY = 5.0
JOB_NAMES = 200
"""Job names read for the trigger prompt's completion."""


async def _stop_all(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


@dataclass
class Link:
    """How the coordinator answers: the reads, the event stream, a refusal."""

    reads: str | None = None
    """Why the last reads failed, as shown ("disconnected, retrying"); None when they worked."""
    stream: str | None = "connecting"
    refused: str | None = None
    last_event: EventOut | None = None

    def line(self, url: str) -> Text:
        text = Text(f"tickwork top · {url} · ", style="bold")
        if self.refused:
            text.append(f"refused: {self.refused}", style="bold red")
        elif self.reads:
            text.append(self.reads, style="bold red")
        elif self.stream == "connecting":
            text.append("connecting…", style="yellow")
        elif self.stream:
            text.append(f"disconnected, retrying ({self.stream})", style="bold red")
        else:
            text.append("connected", style="bold green")
        if self.last_event is not None:
            e = self.last_event
            text.append(f" · {e.ts:%H:%M:%S} {e.type}", style="dim")
        return text


class TopApp(App[None]):
    """Queue depth, running runs, failures and workers of one coordinator, kept live."""

    TITLE = "tickwork top"
    BINDINGS = [
        Binding("q", "quit", "quit"),
        Binding("t", "trigger", "trigger"),
        Binding("c", "cancel", "cancel"),
        Binding("r", "retry", "retry"),
        Binding("l", "logs", "log"),
    ]
    CSS = """
    #status, #stats, #message, #help { height: 1; }
    #status { background: $panel; }
    #help { color: $text-muted; }
    #runs { height: 4fr; }
    #failures, #workers { height: 3fr; }
    """

    def __init__(
        self,
        url: str,
        token: str | None,
        *,
        interval: float = 2.0,
        retry_delay: float = 1.0,
        namespace: str | None = None,
        clock: Clock | None = None,
    ) -> None:
        super().__init__()
        retry = RetryPolicy(attempts=2)
        self.client = AsyncClient(url, token, namespace=namespace, timeout=10, retry=retry)
        self.interval = interval
        self.retry_delay = retry_delay
        self.clock = clock or SystemClock()
        self.link = Link()
        self.snapshot: Snapshot | None = None
        self._wanted = asyncio.Event()
        self._loops: list[asyncio.Task[None]] = []

    def compose(self) -> ComposeResult:
        yield Static(self.link.line(self.client.url), id="status")
        yield Static("", id="stats")
        yield RunsTable("running and queued", id="runs")
        yield FailuresTable("recent failures", id="failures")
        yield WorkersTable("workers", id="workers")
        yield Static("", id="message")
        yield Static(HELP, id="help")

    def on_mount(self) -> None:
        self.query_one(RunsTable).focus()
        self._loops = [asyncio.create_task(self._refresher()), asyncio.create_task(self._follow())]

    async def on_unmount(self) -> None:
        """Stop both loops and wait for them (the event stream closes its socket politely)
        before the client goes."""
        await _stop_all(self._loops)
        await self.client.aclose()

    # --- the two loops ----------------------------------------------------------------
    def request_refresh(self) -> None:
        self._wanted.set()

    async def _refresher(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wanted.wait(), timeout=self.interval)
            self._wanted.clear()
            try:
                await self.refresh_now()
            except Exception as exc:  # an answer it cannot read: say so, keep refreshing
                self.link.reads = f"cannot read the answer ({exc!r:.60}); retrying"
                self._show_link()
            await asyncio.sleep(MIN_GAP)

    async def refresh_now(self) -> None:
        """One snapshot, drawn; a failed read shows in the status line instead."""
        try:
            snapshot = await read_snapshot(self.client)
        except AuthError as exc:
            self.link.refused = explain(exc)
            self._show_link()
            return
        except UnreachableError:
            self.link.reads, self.link.refused = "disconnected, retrying", None
            self._show_link()
            return
        except ClientError as exc:  # the coordinator answers, with an error (503: no database)
            self.link.reads, self.link.refused = f"{explain(exc)}; retrying", None
            self._show_link()
            return
        self.link.reads = self.link.refused = None
        self._show_link()
        self.snapshot = snapshot
        self._draw(snapshot, self.clock.now())

    async def _follow(self) -> None:
        delay = self.retry_delay
        while True:
            try:
                async for event in watch_events(self.client, opened=self._stream_opened):
                    self.link.last_event = event
                    self._show_link()
                    self.request_refresh()
                    delay = self.retry_delay
            except AuthError as exc:
                self.link.stream, self.link.refused = "refused", explain(exc)
            except ClientError as exc:
                self.link.stream = str(exc) or "lost"
            except Exception as exc:  # a broken handshake or event: the stream is lost, not top
                self.link.stream = repr(exc)
            self._show_link()
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_RETRY_DELAY)

    def _stream_opened(self) -> None:
        self.link.stream = None
        self._show_link()
        self.request_refresh()  # whatever happened while it was down

    def _show_link(self) -> None:
        self.query_one("#status", Static).update(self.link.line(self.client.url))

    def _draw(self, s: Snapshot, now: datetime) -> None:
        self.query_one("#stats", Static).update(stats_line(s.stats))
        self.query_one(RunsTable).show(s.running, s.queued, now)
        self.query_one(FailuresTable).show(s.failed, now)
        self.query_one(WorkersTable).show(s.workers, now)

    # --- keys -------------------------------------------------------------------------
    def check_action(self, action: str, _parameters: tuple[object, ...]) -> bool | None:
        """The panel keys act only while the panels are on top (not under a prompt or a log)."""
        if action in PANEL_ACTIONS:
            return self.screen is self.screen_stack[0]
        return True

    def say(self, message: str, *, error: bool = False) -> None:
        self.query_one("#message", Static).update(Text(message, style="red" if error else ""))

    def action_trigger(self) -> None:
        self.run_worker(self._trigger(), group="actions")

    async def _trigger(self) -> None:
        names: list[str] = []
        with contextlib.suppress(ClientError):  # no completion then; the trigger still works
            names = [j.name for j in (await self.client.list_jobs(limit=JOB_NAMES)).jobs]
        name = await self.push_screen_wait(TriggerScreen(names))
        if not name:
            return
        out = await self._call(f"trigger {name}", lambda: self.client.trigger(name))
        if out is not None:
            self.say(f"triggered {name} → {out.run_id} ({out.status})")

    def action_cancel(self) -> None:
        run = self._selected(self.query_one(RunsTable))
        if run is None:
            self.say("no running or queued run selected", error=True)
            return
        self.run_worker(self._cancel(run), group="actions")

    async def _cancel(self, run: RunOut) -> None:
        question = f"Cancel {run.id} ({run.job_name}, {run.status})?"
        if not await self.push_screen_wait(ConfirmScreen(question)):
            self.say("nothing cancelled")
            return
        out = await self._call(f"cancel {run.id}", lambda: self.client.cancel_run(run.id))
        if out is not None:
            what = "cancel requested" if out.status == "running" else out.status
            self.say(f"{what}: {out.id} ({out.job_name})")

    def action_retry(self) -> None:
        run = self._selected(self.query_one(FailuresTable))
        if run is None:
            self.say("no failed run selected", error=True)
            return
        self.run_worker(self._retry(run), group="actions")

    async def _retry(self, run: RunOut) -> None:
        out = await self._call(f"retry {run.id}", lambda: self.client.retry_run(run.id))
        if out is not None:
            self.say(f"{out.status} again: {out.id} ({out.job_name})")

    def action_logs(self) -> None:
        focused = self.focused
        table = focused if isinstance(focused, RunsTable | FailuresTable) else None
        run_id = (table or self.query_one(RunsTable)).selected()
        if run_id is None:
            self.say("no run selected", error=True)
            return
        self.push_screen(LogScreen(self.client, run_id, retry_delay=self.retry_delay))

    def on_data_table_row_selected(self, event: Panel.RowSelected) -> None:
        if isinstance(event.data_table, RunsTable | FailuresTable):
            self.action_logs()

    def _selected(self, table: Panel) -> RunOut | None:
        key = table.selected()
        s = self.snapshot
        if key is None or s is None:
            return None
        return next((r for r in [*s.running, *s.queued, *s.failed] if r.id == key), None)

    async def _call(self, what: str, call: Callable[[], Awaitable[T]]) -> T | None:
        """An action's request; a refusal (a viewer's cancel, say) shows the server's reason."""
        try:
            result = await call()
        except ClientError as exc:
            self.say(f"{what}: {explain(exc)}", error=True)
            return None
        self.request_refresh()
        return result
