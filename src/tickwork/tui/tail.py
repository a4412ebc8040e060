"""A run's output as `tickwork top` shows it: the stored text of its latest attempt, then the
live ``run.log`` chunks that come after it.

The stored attempt says how many chunks each stream holds (``stdout_chunks``); live chunks
carry their number (``seq``), so a chunk already in the stored text is never shown twice,
and neither is an event seen before a reconnect (events are read again from the last id).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tickwork.schemas.runs import EventOut, RunDetail

__all__ = ["Tail"]


@dataclass
class Tail:
    attempt: int = 0
    shown: dict[str, int] = field(default_factory=dict)
    """Chunks of each stream of ``attempt`` already shown."""
    last_event: int = 0

    @classmethod
    def of(cls, run: RunDetail) -> tuple[Tail, str]:
        """The tail after the stored output, and that output (stdout, then stderr)."""
        if not run.attempts:
            return cls(), ""
        latest = max(run.attempts, key=lambda a: a.number)
        shown = {"stdout": latest.stdout_chunks, "stderr": latest.stderr_chunks}
        return cls(latest.number, shown), latest.stdout + latest.stderr

    def take(self, event: EventOut) -> str:
        """The text an event adds to the log (often none)."""
        if event.id <= self.last_event:
            return ""
        self.last_event = event.id
        data = event.data
        if event.type == "run.retrying":
            reason = _last_line(data.get("error")) or f"exit code {data.get('exit_code')}"
            return f"── attempt {data.get('attempt')} failed: {reason}; retrying ──\n"
        if event.type != "run.log":
            return ""
        attempt = int(data.get("attempt") or 1)
        return self._chunk(attempt, str(data.get("stream")), data.get("seq"), data.get("chunk"))

    def _chunk(self, attempt: int, stream: str, seq: object, chunk: object) -> str:
        if attempt < self.attempt:
            return ""
        header = ""
        if attempt > self.attempt:
            header = f"── attempt {attempt} ──\n" if attempt > 1 else ""
            self.attempt, self.shown = attempt, {}
        done = self.shown.get(stream, 0)
        if isinstance(seq, int):
            if seq < done:
                return ""
            self.shown[stream] = seq + 1
        else:
            self.shown[stream] = done + 1
        return header + str(chunk or "")


def _last_line(text: object) -> str:
    lines = str(text or "").strip().splitlines()
    return lines[-1] if lines else ""
