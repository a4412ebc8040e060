"""Logging setup: human-readable lines, or one JSON object per line (TICKWORK_LOG_JSON).

Every line goes through ``RedactSecrets``: no token reaches a log, wherever it came from.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime
from typing import Any

_STANDARD = set(vars(logging.makeLogRecord({})))
_NOT_EXTRAS = _STANDARD | {"color_message"}  # uvicorn's coloured copy of the format string
HUMAN = "%(asctime)s %(levelname)s %(name)s: %(message)s"
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi")
MASK = "***"
_SECRETS = (
    # a query value whose name ends in "token" (uvicorn logs each path with its query string)
    (re.compile(r"(?i)\b([\w.-]*token=)[^&\s\"'#]+"), rf"\1{MASK}"),
    # "Bearer <token>", and the WebSocket subprotocol "tickwork.bearer.<token>"
    (re.compile(r"(?i)\b(bearer[\s.]+)[\w.~+/=-]+"), rf"\1{MASK}"),
    # a tickwork token anywhere else
    (re.compile(r"\btw_[\w-]{8,}"), f"tw_{MASK}"),
)


def redact(text: str) -> str:
    """``text`` with every token it carries replaced by ``***``."""
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


class RedactSecrets(logging.Filter):
    """Masks tokens in a record before a handler writes it: in the message, in string extra
    fields and in the exception text. Defence in depth: tickwork never puts a token in a URL
    or a message, but a client may send one in a URL, and uvicorn logs each request's URL."""

    _format = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = redact(message)
        if masked != message:
            record.msg, record.args = masked, ()
        for key, value in list(vars(record).items()):
            if key not in _STANDARD and isinstance(value, str):
                setattr(record, key, redact(value))
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(self._format.formatException(record.exc_info))
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record: ts, level, logger, message, any extra fields, exc."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        out.update({k: v for k, v in vars(record).items() if k not in _NOT_EXTRAS and k[0] != "_"})
        if record.exc_info:
            out["exc"] = record.exc_text or self.formatException(record.exc_info)
        return json.dumps(out, default=str)


def configure(level: str = "info", *, json_lines: bool = False) -> None:
    """One handler on the root logger, with one format and the redaction filter, for
    tickwork's lines and uvicorn's alike (uvicorn runs with ``log_config=None``)."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if json_lines else logging.Formatter(HUMAN))
    handler.addFilter(RedactSecrets())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in UVICORN_LOGGERS:  # their lines go through the handler above, nowhere else
        uvicorn = logging.getLogger(name)
        uvicorn.handlers.clear()
        uvicorn.propagate = True
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
