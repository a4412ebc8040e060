"""The committed OpenAPI document is the one the code serves (`make openapi` refreshes it)."""

from __future__ import annotations

import json
from pathlib import Path

from tickwork.api.openapi import document

COMMITTED = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


def test_committed_openapi_is_current() -> None:
    assert json.loads(COMMITTED.read_text()) == json.loads(json.dumps(document())), (
        "docs/openapi.json is stale: run `make openapi`"
    )


def test_every_operation_is_described() -> None:
    for path, item in document()["paths"].items():
        for method, op in item.items():
            assert op.get("description") or op.get("summary"), f"{method} {path} undocumented"
