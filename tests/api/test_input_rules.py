"""Every request body is built from the hardened field types (``tickwork.schemas.fields``), so
a field added later cannot forget the rules: this walks each model's validation schema and
names any plain string, unbounded or lax integer, unbounded float or unchecked JSON value."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from tickwork import schemas
from tickwork.api.openapi import document
from tickwork.schemas import (
    admin,
    alerts,
    bulk,
    calendars,
    fields,
    jobs,
    oneoff,
    pipelines,
    runs,
    system,
    workers,
)

GUARDS = {
    fields._checked_text,
    fields._checked_json,
    fields._scrubbed_text,
    fields._scrubbed_json,
    jobs.checked_command,
}
MODULES = (admin, alerts, bulk, calendars, jobs, oneoff, pipelines, runs, system, workers)


def request_models() -> list[type[BaseModel]]:
    """The models of every request body in the OpenAPI document."""
    names = set()
    for item in document()["paths"].values():
        for op in item.values():
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {})
            schema = body.get("schema", {})
            for ref in [schema.get("$ref"), *[s.get("$ref") for s in schema.get("anyOf", [])]]:
                if ref:
                    names.add(ref.rsplit("/", 1)[1])
    found = {name: getattr(m, name) for m in MODULES for name in names if hasattr(m, name)}
    assert set(found) == names, (
        f"request models not found in {schemas.__name__}: {names - set(found)}"
    )
    return [found[n] for n in sorted(found)]


def _int_ok(node: dict[str, Any]) -> bool:
    low = node.get("ge", node.get("gt"))
    high = node.get("le", node.get("lt"))
    return (
        bool(node.get("strict"))
        and low is not None
        and high is not None
        and (low >= fields.INT64_MIN and high <= fields.INT64_MAX)
    )


def problems(node: Any, where: str) -> list[str]:
    if isinstance(node, list):
        return [p for i, item in enumerate(node) for p in problems(item, f"{where}[{i}]")]
    if not isinstance(node, dict):
        return []
    kind = node.get("type")
    if kind and kind.startswith("function-") and node["function"]["function"] in GUARDS:
        return []  # everything inside is held to the rules
    if kind == "definitions":
        defs = [d for d in node["definitions"] if "JsonValue" not in d.get("ref", "")]
        return problems(defs, where) + problems(node["schema"], where)
    if kind == "str":
        return [f"{where}: a plain str (use Text, or OutputText for job output)"]
    if kind == "int" and not _int_ok(node):
        return [f"{where}: an int that is lax or unbounded (use Int64, Int32, Count, Fence)"]
    if kind == "float" and not (("ge" in node or "gt" in node) and ("le" in node or "lt" in node)):
        return [f"{where}: a float without both bounds (NaN and Infinity would pass)"]
    if kind == "any":
        return [f"{where}: Any (use JsonDoc)"]
    if kind == "definition-ref" and "JsonValue" in node["schema_ref"]:
        return [f"{where}: an unchecked JsonValue (use JsonDoc, JsonObject or OutputJson)"]
    if kind == "model-fields":
        return [p for name, f in node["fields"].items() for p in problems(f, f"{where}.{name}")]
    return [p for key, value in node.items() if key != "metadata" for p in problems(value, where)]


@pytest.mark.parametrize("model", request_models(), ids=lambda m: m.__name__)
def test_request_model_uses_only_hardened_fields(model: type[BaseModel]) -> None:
    assert problems(model.__pydantic_core_schema__, model.__name__) == []


def test_the_walk_finds_what_it_must() -> None:
    """The check itself: plain types are named."""

    class Careless(BaseModel):
        name: str
        count: int
        ratio: float
        data: dict[str, Any]
        fine: fields.Text

    found = problems(Careless.__pydantic_core_schema__, "Careless")
    assert sorted({p.split(":")[0] for p in found}) == [
        "Careless.count",
        "Careless.data",
        "Careless.name",
        "Careless.ratio",
    ]


def test_integers_in_parameters_have_int64_bounds() -> None:
    """Query and path integers are parsed by FastAPI, not by a model: their bounds are in
    the document, and every one fits a signed 64-bit column."""
    for path, item in document()["paths"].items():
        for method, op in item.items():
            for param in op.get("parameters", []):
                schema = param["schema"]
                options = schema.get("anyOf", [schema])
                for s in options:
                    if s.get("type") == "integer":
                        where = f"{method.upper()} {path} {param['name']}"
                        assert "minimum" in s and "maximum" in s, f"{where} is unbounded"
                        assert fields.INT64_MIN <= s["minimum"] <= s["maximum"] <= fields.INT64_MAX
