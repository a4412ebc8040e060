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


def test_every_operation_lists_the_errors_it_can_answer() -> None:
    doc = document()
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    for path, item in doc["paths"].items():
        for method, op in item.items():
            where = f"{method.upper()} {path}"
            answers = op["responses"]
            assert {"422", "503"} <= set(answers), where
            assert answers["422"]["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/ErrorOut"
            }, where
            if op["operationId"] != "system-health":
                assert answers["503"]["headers"]["Retry-After"]["required"], where
            if "requestBody" in op:
                assert "400" in answers, where
            if method in ("post", "put", "delete"):
                assert {"413", "415"} <= set(answers), where
            if "{" in path:
                assert "404" in answers, where
            if op["operationId"] not in ("system-health", "auth-whoami"):
                assert {"401", "403"} <= set(answers), where


def test_page_limits_are_schema_constraints() -> None:
    for path, item in document()["paths"].items():
        for method, op in item.items():
            for param in op.get("parameters", []):
                if param["name"] == "limit" and param["in"] == "query":
                    assert (param["schema"]["minimum"], param["schema"]["maximum"]) == (1, 500), (
                        f"{method} {path}"
                    )
