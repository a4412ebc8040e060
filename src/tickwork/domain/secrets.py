"""Secret references: ``{"$secret": "NAME"}`` in parameters or an HTTP request stands for
the value of NAME in the *worker's* environment. The coordinator stores and shows only the
reference; the worker resolves it just before running and masks the value in everything it
reports (``tickwork.domain.masking``)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

SECRET_KEY = "$secret"
NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")


class MissingSecret(LookupError):
    def __init__(self, name: str) -> None:
        super().__init__(f"secret '{name}' is not set in the worker's environment")
        self.name = name


def is_reference(value: Any) -> bool:
    return (
        isinstance(value, Mapping)
        and set(value) == {SECRET_KEY}
        and isinstance(value[SECRET_KEY], str)
    )


def references(value: Any) -> list[str]:
    """Every secret name referenced anywhere inside ``value``."""
    if is_reference(value):
        return [value[SECRET_KEY]]
    if isinstance(value, Mapping):
        return [n for v in value.values() for n in references(v)]
    if isinstance(value, list | tuple):
        return [n for v in value for n in references(v)]
    return []


def invalid_reference(value: Any) -> str | None:
    """The first malformed secret name, if any (checked when a job is saved)."""
    for name in references(value):
        if not NAME_RE.match(name):
            return name
    return None


def resolve(value: Any, env: Mapping[str, str]) -> tuple[Any, list[str]]:
    """Replace every reference by its value; also return the values (to mask them)."""
    found: list[str] = []

    def walk(v: Any) -> Any:
        if is_reference(v):
            name = v[SECRET_KEY]
            if name not in env:
                raise MissingSecret(name)
            found.append(env[name])
            return env[name]
        if isinstance(v, Mapping):
            return {k: walk(x) for k, x in v.items()}
        if isinstance(v, list | tuple):
            return [walk(x) for x in v]
        return v

    return walk(value), found
