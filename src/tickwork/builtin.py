"""Job targets that ship with tickwork (every worker can import them).

``tickwork.builtin.noop`` does nothing and returns nothing: what ``tickwork bench`` runs to
measure the path every run takes (claim, execute, report) without the job's own cost.
"""

from __future__ import annotations

from typing import Any

__all__ = ["noop"]


def noop(**parameters: Any) -> None:
    """Do nothing (any parameters are accepted and ignored)."""
    del parameters
