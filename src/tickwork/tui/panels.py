"""The panels of `tickwork top`: three tables redrawn from each snapshot.

A redraw keeps the cursor on the row it was on (rows are keyed by run or worker id), so a
refresh never moves the selection from under a key press. Column widths follow the panel's
width: fixed columns first, the job name or the error takes what is left.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from rich.text import Text
from textual.widgets import DataTable

from tickwork.schemas.runs import RunOut
from tickwork.schemas.workers import WorkerOut
from tickwork.tui.data import ago, elapsed, fit

__all__ = ["FailuresTable", "Panel", "RunsTable", "WorkersTable"]

STATUS_STYLES = {"running": "cyan", "queued": "yellow", "online": "green", "lost": "red"}

Cell = str | Text
Column = tuple[str, int]
"""A column's label and width; width 0 is the flexible column."""


class Panel(DataTable[Cell]):
    """A keyed table with a border title, redrawn whole."""

    COLUMNS: Sequence[Column] = ()
    DEFAULT_CSS = """
    Panel { border: round $panel-lighten-2; height: 1fr; }
    Panel:focus { border: round $accent; }
    """

    def __init__(self, title: str, *, id: str) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=False)
        self.border_title = title

    def selected(self) -> str | None:
        """The key (run or worker id) of the row under the cursor."""
        if self.row_count == 0:
            return None
        key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        return str(key) if key is not None else None

    def redraw(self, rows: Iterable[tuple[str, Sequence[Cell]]]) -> None:
        keep = self.selected()
        self.clear(columns=True)
        for (label, _), size in zip(self.COLUMNS, self._widths(), strict=True):
            self.add_column(label, width=size, key=label)
        for key, cells in rows:
            self.add_row(*self._cut(cells), key=key)
        if keep is not None and keep in self.rows:
            self.move_cursor(row=self.get_row_index(keep), animate=False)

    def _widths(self) -> list[int]:
        inner = self.size.width or 78
        fixed = sum(w for _, w in self.COLUMNS)
        padding = 2 * self.cell_padding * len(self.COLUMNS)
        flexible = max(8, inner - fixed - padding - 1)  # the scrollbar's column
        return [w or flexible for _, w in self.COLUMNS]

    def _cut(self, cells: Sequence[Cell]) -> list[Cell]:
        out: list[Cell] = []
        for cell, width in zip(cells, self._widths(), strict=True):
            if isinstance(cell, Text):
                cell = cell.copy()
                cell.truncate(width, overflow="ellipsis")
                out.append(cell)
            else:
                out.append(fit(cell, width))
        return out


def _status(value: str) -> Text:
    return Text(value, style=STATUS_STYLES.get(value, ""))


class RunsTable(Panel):
    """Running runs (elapsed against timeout), then queued ones (how long they waited)."""

    COLUMNS = (("status", 7), ("run", 16), ("job", 0), ("worker", 15), ("time", 11))

    def show(self, running: list[RunOut], queued: list[RunOut], now: datetime) -> None:
        rows: list[tuple[str, list[Cell]]] = [
            (r.id, [_status(r.status), r.id, r.job_name, r.worker or "-", elapsed(r, now)])
            for r in [*running, *queued]
        ]
        self.redraw(rows)


class FailuresTable(Panel):
    """The latest failed runs with why they failed."""

    COLUMNS = (("run", 16), ("job", 16), ("ago", 6), ("error", 0))

    def show(self, failed: list[RunOut], now: datetime) -> None:
        rows: list[tuple[str, list[Cell]]] = [
            (
                r.id,
                [
                    r.id,
                    r.job_name,
                    ago(r.finished_at, now),
                    Text(r.error_summary or r.error or "-", style="red"),
                ],
            )
            for r in failed
        ]
        self.redraw(rows)


class WorkersTable(Panel):
    """Workers: busy slots of their concurrency, status, last heartbeat, routing tags."""

    COLUMNS = (("worker", 15), ("host", 14), ("busy", 7), ("status", 7), ("beat", 6), ("tags", 0))

    def show(self, workers: list[WorkerOut], now: datetime) -> None:
        rows: list[tuple[str, list[Cell]]] = [
            (
                w.id,
                [
                    w.id,
                    w.hostname,
                    f"{w.active_jobs}/{w.concurrency}",
                    _status(w.status),
                    ago(w.last_heartbeat, now),
                    ",".join(w.tags),
                ],
            )
            for w in workers
        ]
        self.redraw(rows)
