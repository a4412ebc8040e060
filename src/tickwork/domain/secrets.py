"""Secret references: ``{"$secret": "NAME"}`` in parameters or an HTTP request stands for
the value of NAME in the *worker's* environment. The coordinator stores and shows only the
reference; the worker resolves it just before running, and only for the names its owner
allowed, and masks the value (and the forms a job plausibly prints it in) in everything
it reports: output, error and result.

How values are masked: ``tickwork.domain.masking``."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from typing import Any

from tickwork.domain.errors import ValidationError

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
    return [name for _, name in reference_fields(value, "")]


def reference_fields(value: Any, field: str) -> list[tuple[str, str]]:
    """(dotted field path, secret name) of every reference inside ``value``."""
    if is_reference(value):
        return [(field, value[SECRET_KEY])]
    if isinstance(value, Mapping):
        items: Iterable[tuple[Any, Any]] = value.items()
    elif isinstance(value, list | tuple):
        items = enumerate(value)
    else:
        return []
    return [found for k, v in items for found in reference_fields(v, _join(field, k))]


def _join(field: str, key: Any) -> str:
    return f"{field}.{key}" if field else str(key)


def invalid_reference(value: Any) -> str | None:
    """The first malformed secret name, if any (checked when a job is saved)."""
    for name in references(value):
        if not NAME_RE.match(name):
            return name
    return None


def refuse_new_references(given: Any, *, defined: Iterable[Any], field: str) -> None:
    """Trigger-time parameters may only reuse secrets the job's definition (its parameters
    and request, in ``defined``) already references: otherwise whoever may trigger a job
    could have the worker print any secret it allows. ValidationError names the field."""
    known = {name for part in defined for name in references(part)}
    for where, name in reference_fields(given, field):
        if name not in known:
            raise ValidationError(
                where,
                f"secret '{name}' is not referenced by the job's definition; trigger-time "
                "parameters may only reuse the secrets the job already references",
            )


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
