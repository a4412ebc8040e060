"""A run's output: printed once (`runs logs`) or followed live until it ends (`--follow`).

Following prints stdout chunks to stdout and stderr chunks to stderr as the worker sends them,
with a line on stderr when a new attempt starts or one fails; ``--json`` prints the events
themselves, one JSON object per line. The exit code is 0 when the run completed, else 1.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from tickwork.cli.common import EXIT_FAILED, err, print_json
from tickwork.cli.render import seconds
from tickwork.client import Client
from tickwork.domain.runs import TERMINAL
from tickwork.schemas.runs import EventOut, LogsOut, RunDetail

__all__ = ["exit_code", "follow", "print_logs"]


def exit_code(status: str) -> int:
    return 0 if status == "completed" else EXIT_FAILED


def print_logs(logs: LogsOut, *, as_json: bool) -> None:
    if as_json:
        print_json(logs)
        return
    _write(sys.stdout, logs.stdout)
    _write(sys.stderr, logs.stderr)


def follow(client: Client, run_id: str, *, as_json: bool) -> int:
    """Stream the run until it is finished; the command's exit code."""
    run = client.get_run(run_id)
    if run.status in TERMINAL:
        print_logs(client.run_logs(run_id), as_json=as_json)
        return exit_code(run.status)
    printer = _Printer(as_json)
    heard = False
    for event in client.follow_run(run_id):
        heard = True
        printer.show(event)
    final = client.get_run(run_id)
    if not heard and final.status in TERMINAL:
        # it ended between the look above and the stream opening: the stream had nothing
        # more to say, so what it printed is in its stored output
        print_logs(client.run_logs(run_id), as_json=as_json)
    printer.finish(final)
    return exit_code(final.status)


class _Printer:
    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json
        self.attempt = 0

    def show(self, event: EventOut) -> None:
        if self.as_json:
            sys.stdout.write(json.dumps(event.model_dump(mode="json")) + "\n")
            sys.stdout.flush()
            return
        data = event.data
        if event.type == "run.log":
            self._chunk(data)
        elif event.type == "run.started":
            self._attempt(int(data.get("attempt") or 1), data.get("worker"))
        elif event.type == "run.retrying":
            reason = _last_line(data.get("error")) or f"exit code {data.get('exit_code')}"
            err().print(f"[yellow]attempt {data.get('attempt')} failed:[/] {reason}; retrying")

    def _chunk(self, data: dict[str, Any]) -> None:
        attempt = int(data.get("attempt") or 1)
        if attempt != self.attempt:
            self._attempt(attempt, None)
        stream = sys.stderr if data.get("stream") == "stderr" else sys.stdout
        _write(stream, str(data.get("chunk", "")))

    def _attempt(self, number: int, worker: Any) -> None:
        if number != self.attempt and number > 1:
            on = f" on {worker}" if worker else ""
            err().print(f"[dim]── attempt {number}{on} ──[/]")
        self.attempt = number

    def finish(self, run: RunDetail) -> None:
        if self.as_json:
            return
        style = "green" if run.status == "completed" else "red"
        line = f"[{style}]{run.id} {run.status}[/] after {seconds(run.duration)}"
        if run.status != "completed" and run.error:
            line += f": {_last_line(run.error)}"
        err().print(line, soft_wrap=True)


def _write(stream: Any, text: str) -> None:
    if text:
        stream.write(text)
        stream.flush()


def _last_line(text: Any) -> str:
    lines = str(text or "").strip().splitlines()
    return lines[-1] if lines else ""
