from __future__ import annotations

import io
import json
import logging
import subprocess
import sys

import pytest

from tickwork.logs import HUMAN, JsonFormatter, RedactSecrets


def test_json_lines_carry_message_level_and_extras() -> None:
    record = logging.makeLogRecord(
        {
            "name": "tickwork.test",
            "levelname": "WARNING",
            "msg": "run %s lost",
            "args": ("run-1",),
            "worker": "worker-a",
        }
    )
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "run run-1 lost"
    assert line["level"] == "warning" and line["logger"] == "tickwork.test"
    assert line["worker"] == "worker-a"
    assert line["ts"].endswith("+00:00")


SECRET = "tw_Zx9-Q_fake-token-value-for-tests-00000000000"


def _emit(record: logging.LogRecord, *, json_lines: bool) -> str:
    """``record`` as tickwork's configured handler writes it."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter() if json_lines else logging.Formatter(HUMAN))
    handler.addFilter(RedactSecrets())
    handler.handle(record)
    return stream.getvalue()


def _record(msg: str, *args: object, **extra: object) -> logging.LogRecord:
    return logging.makeLogRecord({"name": "uvicorn.access", "msg": msg, "args": args, **extra})


LEAKS = [
    # uvicorn's access log: the path with its query string, as uvicorn formats it
    _record(
        '%s - "%s %s HTTP/%s" %d',
        "127.0.0.1:5000",
        "GET",
        f"/api/jobs?limit=5&token={SECRET}",
        "1.1",
        401,
    ),
    # uvicorn's WebSocket line (logger uvicorn.error)
    _record('%s - "WebSocket %s" [accepted]', "127.0.0.1:5000", f"/api/ws?since=3&token={SECRET}"),
    _record("got header Authorization: Bearer %s", SECRET),
    _record("calling http://h/api/x?access_token=%s&b=1", SECRET),
    _record("offered subprotocols tickwork, tickwork.bearer.%s", SECRET),
    _record("a bare token %s in a message", SECRET),
    _record("an extra field", token_header=f"Bearer {SECRET}"),
]


@pytest.mark.parametrize("record", LEAKS, ids=range(len(LEAKS)))
@pytest.mark.parametrize("json_lines", [False, True], ids=["text", "json"])
def test_no_token_reaches_a_log_line(record: logging.LogRecord, json_lines: bool) -> None:
    line = _emit(logging.makeLogRecord(vars(record)), json_lines=json_lines)
    assert SECRET not in line and SECRET[3:20] not in line, line
    if json_lines or not hasattr(record, "token_header"):  # text lines leave extras out
        assert "***" in line, line
    if "/api/jobs" in str(record.args):  # the rest of the line stays readable
        assert "GET /api/jobs?limit=5&token=*** HTTP/1.1" in line and "401" in line


def test_a_token_in_an_exception_is_masked() -> None:
    try:
        raise RuntimeError(f"refused Bearer {SECRET}")
    except RuntimeError:
        record = logging.makeLogRecord(
            {"name": "tickwork", "msg": "failed", "exc_info": sys.exc_info()}
        )
    for json_lines in (False, True):
        line = _emit(logging.makeLogRecord(vars(record)), json_lines=json_lines)
        assert "RuntimeError" in line and SECRET not in line, line


def test_configure_masks_tokens_in_every_logger() -> None:
    """In a process of its own: ``configure`` owns the root logger and uvicorn's loggers."""
    script = f"""
import logging
logging.getLogger("uvicorn.access").addHandler(logging.StreamHandler())  # as uvicorn's own config
from tickwork.logs import configure
configure("info")
logging.getLogger("uvicorn.error").info('"WebSocket %s" [accepted]', "/api/ws?token={SECRET}")
logging.getLogger("uvicorn.access").info('"GET %s HTTP/1.1" 200', "/?token={SECRET}")
logging.getLogger("tickwork.api").warning("header Bearer %s", "{SECRET}")
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert '"WebSocket /api/ws?token=***" [accepted]' in done.stderr
    assert '"GET /?token=*** HTTP/1.1" 200' in done.stderr and "Bearer ***" in done.stderr
    assert SECRET not in done.stderr + done.stdout
