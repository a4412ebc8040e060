from __future__ import annotations

import json
import logging

from tickwork.logs import JsonFormatter


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
