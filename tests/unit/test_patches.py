"""JSON Merge Patch: the examples of RFC 7396 appendix A, and the changed-field list."""

from __future__ import annotations

from typing import Any

import pytest

from tickwork.domain.patches import changed_fields, merge_patch

RFC_7396_APPENDIX_A: list[tuple[Any, Any, Any]] = [
    ({"a": "b"}, {"a": "c"}, {"a": "c"}),
    ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
    ({"a": "b"}, {"a": None}, {}),
    ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
    ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
    ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
    ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
    ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
    (["a", "b"], ["c", "d"], ["c", "d"]),
    ({"a": "b"}, ["c"], ["c"]),
    ({"a": "foo"}, None, None),
    ({"a": "foo"}, "bar", "bar"),
    ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
    ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
    ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
]


@pytest.mark.parametrize(("target", "patch", "result"), RFC_7396_APPENDIX_A)
def test_rfc_7396_examples(target: Any, patch: Any, result: Any) -> None:
    assert merge_patch(target, patch) == result


def test_the_target_is_left_alone() -> None:
    target = {"a": {"b": 1}, "c": 2}
    merge_patch(target, {"a": {"b": None}, "c": None})
    assert target == {"a": {"b": 1}, "c": 2}


def test_changed_fields_names_added_removed_and_changed_keys() -> None:
    before = {"same": 1, "changed": {"x": 1}, "removed": True}
    after = {"same": 1, "changed": {"x": 2}, "added": None}
    assert changed_fields(before, after) == ["added", "changed", "removed"]
    assert changed_fields(before, dict(before)) == []
