"""The panels of `tickwork top`: three tables redrawn from each snapshot.

A redraw keeps the cursor on the row it was on (rows are keyed by run or worker id), so a
refresh never moves the selection from under a key press. Column widths follow the panel's
width: fixed columns first, the job name or the error takes what is left; below 80 columns
the columns marked optional are left out rather than scrolled out of sight.
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
Column = tuple[str, int, bool]
"""A column's label, width (0: the flexible one) and whether a narrow panel may drop it."""
FLEX_MIN = 12


class Panel(DataTable[Cell]):
    """A keyed table with a border title, redrawn whole."""

    COLUMNS: Sequence[Column] = ()
    DEFAULT_CSS = """
    Panel { border: round $panel-lighten-2; height: 1fr; overflow-x: hidden; }
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
        shown = self._shown()
        widths = self._widths(shown)
        for (label, _, _), width in zip(shown, widths, strict=True):
            self.add_column(label, width=width, key=label)
        wanted = [i for i, column in enumerate(self.COLUMNS) if column in shown]
        for key, cells in rows:
            self.add_row(*_cut([cells[i] for i in wanted], widths), key=key)
        if keep is not None and keep in self.rows:
            self.move_cursor(row=self.get_row_index(keep), animate=False)

    def _inner(self) -> int:
        return (self.size.width or 78) - 1  # the vertical scrollbar's column

    def _shown(self) -> list[Column]:
        """Every column if the panel is wide enough, else only those it may not drop."""
        needed = sum(w + 2 * self.cell_padding for _, w, _ in self.COLUMNS) + FLEX_MIN
        if needed <= self._inner():
            return list(self.COLUMNS)
        return [c for c in self.COLUMNS if not c[2]]

    def _widths(self, columns: list[Column]) -> list[int]:
        used = sum(w + 2 * self.cell_padding for _, w, _ in columns)
        flexible = max(FLEX_MIN, self._inner() - used)
        return [w or flexible for _, w, _ in columns]


def _cut(cells: Sequence[Cell], widths: Sequence[int]) -> list[Cell]:
    out: list[Cell] = []
    for cell, width in zip(cells, widths, strict=True):
        if isinstance(cell, Text):
            cut = cell.copy()
            cut.truncate(width, overflow="ellipsis")
            out.append(cut)
        else:
            out.append(fit(cell, width))
    return out


def _status(value: str) -> Text:
    return Text(value, style=STATUS_STYLES.get(value, ""))


class RunsTable(Panel):
    """Running runs (elapsed against timeout), then queued ones (how long they waited)."""

    COLUMNS = (
        ("status", 7, False),
        ("run", 16, False),
        ("job", 0, False),
        ("worker", 15, True),
        ("time", 11, False),
    )

    def show(self, running: list[RunOut], queued: list[RunOut], now: datetime) -> None:
        rows: list[tuple[str, list[Cell]]] = [
            (r.id, [_status(r.status), r.id, r.job_name, r.worker or "-", elapsed(r, now)])
            for r in [*running, *queued]
        ]
        self.redraw(rows)


class FailuresTable(Panel):
    """The latest failed runs with why they failed."""

    COLUMNS = (("run", 16, False), ("job", 16, True), ("ago", 6, False), ("error", 0, False))

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

    COLUMNS = (
        ("worker", 15, False),
        ("host", 14, True),
        ("busy", 7, False),
        ("status", 7, False),
        ("beat", 6, False),
        ("tags", 0, True),
    )

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
