"""The worker's outbox: starts, log chunks, completions and released claims waiting to go out
in one report.

Pure bookkeeping, no I/O. Items keep their arrival order, and an item only leaves with every
earlier item of the same run (a run's start, then its output, then its completion), because
the server applies a report as starts, then logs, then completions. Consecutive output of one
run and stream is coalesced into one chunk of at most ``Limits.chunk_chars``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Literal

from tickwork.schemas.workers import CompletionIn, LogChunkIn, ReportIn, RunFence
from tickwork.worker.executors.base import Stream

__all__ = ["Batch", "Item", "Limits", "ReportQueue"]

ItemKind = Literal["start", "log", "completion", "release"]


@dataclass(frozen=True, slots=True)
class Limits:
    chunk_chars: int = 64 * 1024
    """Largest log chunk (the schema allows 1 MiB; smaller chunks keep the UI live)."""
    batch_chars: int = 2 * 1024 * 1024
    """Characters in one report (the coordinator refuses bodies over 8 MiB; UTF-8 may take 4
    bytes a character)."""
    pending_log_chars: int = 32 * 1024 * 1024
    """Output held while the coordinator is slow or away; beyond it, output is dropped."""
    starts: int = 1000
    logs: int = 5000
    completions: int = 1000
    releases: int = 1000


@dataclass(slots=True, eq=False)
class Item:
    kind: ItemKind
    run_id: str
    fence: int
    stream: Stream = "stdout"
    parts: list[str] = field(default_factory=list)
    size: int = 0
    completion: CompletionIn | None = None


@dataclass(slots=True)
class Batch:
    """Items taken for one report, by kind in the order the response answers them."""

    starts: list[Item] = field(default_factory=list)
    logs: list[Item] = field(default_factory=list)
    completions: list[Item] = field(default_factory=list)
    releases: list[Item] = field(default_factory=list)
    items: list[Item] = field(default_factory=list)
    chars: int = 0

    def __len__(self) -> int:
        return len(self.items)

    def accepts(self, item: Item, limits: Limits) -> bool:
        if not self.items:
            return True
        if self.chars + item.size > limits.batch_chars:
            return False
        cap = {
            "start": limits.starts,
            "log": limits.logs,
            "completion": limits.completions,
            "release": limits.releases,
        }
        return len(self._of(item.kind)) < cap[item.kind]

    def add(self, item: Item) -> None:
        self._of(item.kind).append(item)
        self.items.append(item)
        self.chars += item.size

    def _of(self, kind: ItemKind) -> list[Item]:
        if kind == "start":
            return self.starts
        if kind == "release":
            return self.releases
        return self.logs if kind == "log" else self.completions

    @property
    def finishing(self) -> bool:
        """Whether it frees room (completions, hand-backs): the report may carry a claim."""
        return bool(self.completions or self.releases)

    def body(self, claim: int = 0) -> ReportIn:
        return ReportIn(
            claim=claim,
            starts=[RunFence(run_id=i.run_id, fence=i.fence) for i in self.starts],
            logs=[
                LogChunkIn(run_id=i.run_id, fence=i.fence, stream=i.stream, data="".join(i.parts))
                for i in self.logs
            ],
            completions=[i.completion for i in self.completions if i.completion is not None],
            releases=[RunFence(run_id=i.run_id, fence=i.fence) for i in self.releases],
        )


class ReportQueue:
    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        self._pending: list[Item] = []
        self._tail: dict[str, Item] = {}  # each run's newest pending item
        self._log_chars = 0
        self._lost: dict[tuple[str, Stream], int] = {}
        self._dropped: set[str] = set()

    def __len__(self) -> int:
        return len(self._pending)

    @property
    def finishing(self) -> bool:
        """Whether completions or hand-backs wait to go out."""
        return any(i.kind in ("completion", "release") for i in self._pending)

    def add_start(self, run_id: str, fence: int) -> None:
        self._dropped.discard(run_id)
        self._push(Item("start", run_id, fence, size=64))

    def add_release(self, run_id: str, fence: int) -> None:
        """Hand back a claim never started (a prefetched run the worker will not get to)."""
        self._push(Item("release", run_id, fence, size=64))

    def add_log(self, run_id: str, fence: int, stream: Stream, text: str) -> None:
        if not text or run_id in self._dropped:
            return
        text = self._admit(run_id, stream, text)
        if text:
            self._log_chars += len(text)
            self._append_log(run_id, fence, stream, text)

    def add_completion(self, completion: CompletionIn) -> None:
        if completion.run_id in self._dropped:
            return
        size = 256 + len(completion.error or "") + _json_size(completion.result)
        item = Item("completion", completion.run_id, completion.fence, completion=completion)
        item.size = size
        self._push(item)

    def take(self) -> Batch | None:
        """The next report: as many pending items as the limits allow, in order per run."""
        if not self._pending:
            return None
        batch, kept, blocked = Batch(), [], set()
        for item in self._pending:
            if item.run_id in blocked or not batch.accepts(item, self.limits):
                blocked.add(item.run_id)
                kept.append(item)
            else:
                batch.add(item)
        self._pending = kept
        self._tail = {item.run_id: item for item in kept}
        self._log_chars -= sum(item.size for item in batch.logs)
        return batch

    def requeue(self, batch: Batch, *, keep_logs: bool = True) -> None:
        """Put a batch that did not get through back in front, in its original order."""
        items = [
            i
            for i in batch.items
            if i.run_id not in self._dropped and (keep_logs or i.kind != "log")
        ]
        for item in items:
            self._tail.setdefault(item.run_id, item)
            if item.kind == "log":
                self._log_chars += item.size
        self._pending[:0] = items

    def drop_run(self, run_id: str) -> None:
        """Forget everything pending for a run, and whatever it sends until ``forget``."""
        self._dropped.add(run_id)
        self._tail.pop(run_id, None)
        self._log_chars -= sum(
            i.size for i in self._pending if i.run_id == run_id and i.kind == "log"
        )
        self._pending = [i for i in self._pending if i.run_id != run_id]
        self._lost = {key: n for key, n in self._lost.items() if key[0] != run_id}

    def forget(self, run_id: str) -> None:
        """The run is over locally: stop tracking what was dropped or lost for it."""
        self._dropped.discard(run_id)
        self._lost.pop((run_id, "stdout"), None)
        self._lost.pop((run_id, "stderr"), None)

    def clear(self) -> None:
        for run_id in {i.run_id for i in self._pending}:
            self.drop_run(run_id)

    def _push(self, item: Item) -> None:
        self._pending.append(item)
        self._tail[item.run_id] = item

    def _admit(self, run_id: str, stream: Stream, text: str) -> str:
        """The text to queue, with a note of what was dropped before; "" if there is no room."""
        key = (run_id, stream)
        lost = self._lost.get(key, 0)
        if self._log_chars + len(text) > self.limits.pending_log_chars:
            self._lost[key] = lost + len(text)
            return ""
        if lost:
            del self._lost[key]
            return f"\n[tickwork: {lost} characters of output dropped]\n{text}"
        return text

    def _append_log(self, run_id: str, fence: int, stream: Stream, text: str) -> None:
        chunk = self.limits.chunk_chars
        tail = self._tail.get(run_id)
        if tail and tail.kind == "log" and tail.stream == stream and tail.fence == fence:
            room = chunk - tail.size
            if room > 0:
                tail.parts.append(text[:room])
                tail.size += len(text[:room])
                text = text[room:]
        for start in range(0, len(text), chunk):
            piece = text[start : start + chunk]
            self._push(Item("log", run_id, fence, stream, [piece], len(piece)))


def _json_size(value: object) -> int:
    if value is None:
        return 0
    try:
        return len(json.dumps(value, default=str))
    except (TypeError, ValueError):
        return 1024
