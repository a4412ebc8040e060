"""Namespaces: every job (and so its runs, dead letters and events) belongs to one. Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass

from tickwork.domain.errors import ValidationError

DEFAULT_NAMESPACE = "default"
ANY_NAMESPACE = "*"
"""In a token's scopes: the role that applies in every namespace not named."""
NAMESPACE_RE = re.compile(r"^[a-z0-9-]{1,63}$")
NAMESPACE_RULE = "must be 1 to 63 lowercase letters, digits or '-'"


def check_namespace(value: str, *, field: str = "namespace") -> str:
    """The namespace, or ValidationError naming ``field``."""
    if not NAMESPACE_RE.match(value):
        raise ValidationError(field, f"'{value[:80]}' {NAMESPACE_RULE}")
    return value


def split_ref(ref: str, namespace: str) -> tuple[str, str]:
    """A dependency reference as (namespace, job name or id): ``other-ns/job`` names a job of
    another namespace; a bare name or id is one of ``namespace``."""
    ns, sep, name = ref.partition("/")
    return (ns, name) if sep else (namespace, ref)


@dataclass(frozen=True, slots=True)
class NamespaceFilter:
    """The namespaces a list may show: ``only`` these (None: every one) ``but`` not these."""

    only: frozenset[str] | None = None
    but: frozenset[str] = frozenset()

    def allows(self, namespace: str) -> bool:
        return (self.only is None or namespace in self.only) and namespace not in self.but

    def narrowed(self, namespace: str | None) -> NamespaceFilter:
        """This filter and, when given, a ``?namespace=`` asked for."""
        if namespace is None:
            return self
        return NamespaceFilter(
            only=frozenset({namespace}) if self.allows(namespace) else frozenset()
        )

    @property
    def everything(self) -> bool:
        return self.only is None and not self.but


EVERY_NAMESPACE = NamespaceFilter()
