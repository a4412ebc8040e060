"""JSON Merge Patch (RFC 7396): how a PATCH body changes a JSON document."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

MERGE_PATCH = "application/merge-patch+json"
"""The media type of a merge patch; ``application/json`` is taken as one too."""


def merge_patch(target: Any, patch: Any) -> Any:
    """``target`` with ``patch`` applied (RFC 7396 §2): an object merges key by key, a
    ``null`` removes its key, anything else (an array, a string …) replaces the value whole.
    Neither argument is changed."""
    if not isinstance(patch, Mapping):
        return patch
    result = dict(target) if isinstance(target, Mapping) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def changed_fields(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """The top-level keys whose value differs between two documents, sorted."""
    missing = object()
    keys = set(before) | set(after)
    return sorted(k for k in keys if before.get(k, missing) != after.get(k, missing))
