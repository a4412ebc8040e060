"""`tickwork top`: the terminal dashboard (Textual). It speaks to a coordinator only through
``tickwork.client``, like any other client."""

from __future__ import annotations

from tickwork.tui.app import TopApp

__all__ = ["TopApp"]
