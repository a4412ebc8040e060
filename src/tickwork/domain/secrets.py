"""Secret references: ``{"$secret": "NAME"}`` in parameters or an HTTP request stands for
the value of NAME in the *worker's* environment. The coordinator stores and shows only the
reference; the worker resolves it just before running, and only for the names its owner
allowed, and masks the value (and the forms a job plausibly prints it in) in everything
it reports: output, error and result.

How values are masked: ``tickwork.domain.masking``."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from typing import Any

SECRET_KEY = "$secret"
NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
OWN_PREFIX = "TICKWORK_"
"""tickwork's own variables (the worker's token among them) never resolve as secrets."""


class SecretError(LookupError):
    """A reference the worker will not fill in; the message names the secret, never a value."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name


class MissingSecret(SecretError):
    def __init__(self, name: str) -> None:
        super().__init__(name, f"secret '{name}' is not set in the worker's environment")


class SecretNotAllowed(SecretError):
    def __init__(self, name: str) -> None:
        if is_own(name):
            message = (
                f"secret '{name}' is one of tickwork's own variables ({OWN_PREFIX}*), "
                "which never resolve as secrets"
            )
        else:
            message = (
                f"secret '{name}' is not allowed on this worker: add it to TICKWORK_SECRETS "
                f"(comma-separated names) or start the worker with --secret {name}"
            )
        super().__init__(name, message)


def is_own(name: str) -> bool:
    return name.upper().startswith(OWN_PREFIX)


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


def resolve(
    value: Any, env: Mapping[str, str], *, allowed: Collection[str]
) -> tuple[Any, list[str]]:
    """Replace every reference by its value; also return the values (to mask them).

    Only names in ``allowed`` resolve, and never tickwork's own variables (SecretNotAllowed,
    whether or not the variable is set); an allowed name that is not set is MissingSecret."""
    found: list[str] = []

    def walk(v: Any) -> Any:
        if is_reference(v):
            name = v[SECRET_KEY]
            if is_own(name) or name not in allowed:
                raise SecretNotAllowed(name)
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
