from __future__ import annotations

import pytest

from tickwork.domain.secrets import MissingSecret, invalid_reference, references, resolve


def test_resolve_nested_references_and_collect_values() -> None:
    params = {"db": {"password": {"$secret": "DB_PASS"}}, "list": [{"$secret": "TOKEN"}, 1]}
    resolved, values = resolve(params, {"DB_PASS": "hunter22", "TOKEN": "abc123"})
    assert resolved == {"db": {"password": "hunter22"}, "list": ["abc123", 1]}
    assert sorted(values) == ["abc123", "hunter22"]
    assert references(params) == ["DB_PASS", "TOKEN"]


def test_missing_secret_names_it() -> None:
    with pytest.raises(MissingSecret, match="'NOPE'"):
        resolve({"x": {"$secret": "NOPE"}}, {})


def test_not_a_reference_when_other_keys_present() -> None:
    value = {"$secret": "A", "other": 1}
    assert resolve(value, {})[0] == value


def test_invalid_names_are_reported() -> None:
    assert invalid_reference({"a": {"$secret": "bad name"}}) == "bad name"
    assert invalid_reference({"a": {"$secret": "GOOD_1"}}) is None
