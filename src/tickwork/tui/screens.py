"""The screens `tickwork top` opens over its panels: a run's live log, the job to trigger,
and the question before a cancel."""

from __future__ import annotations

import asyncio

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen, Screen
from textual.suggester import SuggestFromList
from textual.widgets import Input, Log, Static

from tickwork.client import AsyncClient, AuthError, ClientError, UnreachableError
from tickwork.domain.runs import TERMINAL
from tickwork.schemas.runs import RunDetail
from tickwork.tui.data import span
from tickwork.tui.tail import Tail

__all__ = ["ConfirmScreen", "LogScreen", "TriggerScreen", "explain"]

RECONNECT_DELAY = 1.0


def explain(exc: ClientError) -> str:
    """One line for the message bar: the server's own reason when it gave one."""
    if isinstance(exc, UnreachableError):
        return f"cannot reach the coordinator ({exc})"
    return str(exc)


class LogScreen(Screen[None]):
    """A run's output, followed live until the run ends (like `tickwork runs logs -f`)."""

    BINDINGS = [
        Binding("escape", "close", "back"),
        Binding("q", "close", "back", show=False),
    ]
    DEFAULT_CSS = """
    LogScreen #log-title { height: 1; background: $panel; }
    LogScreen Log { height: 1fr; border: round $panel-lighten-2; }
    LogScreen #log-help { height: 1; color: $text-muted; }
    """

    def __init__(self, client: AsyncClient, run_id: str, *, retry_delay: float) -> None:
        super().__init__()
        self.client = client
        self.run_id = run_id
        self.retry_delay = retry_delay
        self.title_text = Text(run_id)
        self._follower: asyncio.Task[None] | None = None

    def compose(self) -> ComposeResult:
        yield Static(self.title_text, id="log-title")
        yield Log(id="log", max_lines=20_000)
        yield Static("esc/q back · ↑↓ PgUp PgDn scroll · End follow", id="log-help")

    def on_mount(self) -> None:
        self.query_one(Log).focus()
        self._follower = asyncio.create_task(self._tail())

    async def action_close(self) -> None:
        """Stop following (the stream closes its socket) before the screen goes."""
        if self._follower is not None:
            self._follower.cancel()
            await asyncio.gather(self._follower, return_exceptions=True)
        self.dismiss()

    def on_unmount(self) -> None:
        if self._follower is not None:  # closed some other way (the app quitting)
            self._follower.cancel()

    def _say(self, line: Text | str) -> None:
        self.title_text = line if isinstance(line, Text) else Text(line)
        self.query_one("#log-title", Static).update(self.title_text)

    def _write(self, text: str) -> None:
        if text:
            self.query_one(Log).write(text)

    async def _tail(self) -> None:
        """Stored output first, then live chunks; after a lost connection, again from the
        last event seen."""
        tail: Tail | None = None
        while True:
            try:
                run = await self.client.get_run(self.run_id)
                if tail is None:
                    tail, stored = Tail.of(run)
                    self._write(stored)
                self._headline(run)
                if run.status in TERMINAL:
                    self._finish(run)
                    return
                async for event in self.client.follow_run(self.run_id, since=tail.last_event):
                    self._write(tail.take(event))
                    if event.type != "run.log":
                        self._headline(await self.client.get_run(self.run_id))
            except AuthError as exc:
                self._say(Text(f"{self.run_id}: {explain(exc)}", style="red"))
                return
            except ClientError as exc:
                self._say(Text(f"{self.run_id}: disconnected, retrying ({exc})", style="red"))
                await asyncio.sleep(self.retry_delay)

    def _headline(self, run: RunDetail) -> None:
        attempt = f"attempt {run.attempt}/{run.max_attempts}" if run.attempt else "not started"
        line = Text(f"{run.id} · {run.job_name} · ")
        line.append(run.status, style="bold")
        line.append(f" · {attempt}")
        if run.worker:
            line.append(f" · {run.worker}")
        self._say(line)

    def _finish(self, run: RunDetail) -> None:
        took = "" if run.duration is None else f" after {span(run.duration)}"
        why = f": {run.error_summary}" if run.status != "completed" and run.error_summary else ""
        end = f"── {run.id} {run.status}{took}{why} ──\n"
        log = self.query_one(Log)
        self._write(("\n" if log.lines and log.lines[-1] else "") + end)


class TriggerScreen(ModalScreen[str | None]):
    """Asks for the job to trigger, completing from the job names it was given."""

    BINDINGS = [Binding("escape", "cancel", "cancel")]
    DEFAULT_CSS = """
    TriggerScreen { align: center middle; }
    TriggerScreen Vertical {
        width: 60; max-width: 100%; height: auto; border: round $accent; background: $surface;
    }
    TriggerScreen Static { color: $text-muted; }
    """

    def __init__(self, jobs: list[str]) -> None:
        super().__init__()
        self.jobs = jobs

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("Job to trigger (→ completes, Enter runs, Esc cancels)")
            suggest = SuggestFromList(self.jobs, case_sensitive=False) if self.jobs else None
            yield Input(placeholder="job name or id", suggester=suggest, id="job")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip() or None)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ConfirmScreen(ModalScreen[bool]):
    """A yes/no question (y / n, Esc is no)."""

    BINDINGS = [
        Binding("y", "answer(True)", "yes"),
        Binding("n", "answer(False)", "no"),
        Binding("escape", "answer(False)", "no"),
    ]
    DEFAULT_CSS = """
    ConfirmScreen { align: center middle; }
    ConfirmScreen Static {
        width: 60; max-width: 100%; height: auto; border: round $warning; background: $surface;
        padding: 0 1;
    }
    """

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        text = Text(f"{self.question}\n")
        text.append("y", style="bold").append(" yes · ").append("n", style="bold")
        yield Static(text.append("/Esc no"), id="question")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
