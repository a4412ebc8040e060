"""Route dependencies run on the event loop: FastAPI sends a plain ``def`` dependency to its
thread pool, one thread hop per request per dependency (about a fifth of a trigger's cost)."""

from __future__ import annotations

import inspect
from typing import Any

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from tickwork.api.app import create_app
from tickwork.service.container import Container


def _calls(dependant: Dependant) -> list[tuple[str, object]]:
    found = []
    for sub in dependant.dependencies:
        if sub.call is not None:
            found.append((getattr(sub.call, "__qualname__", repr(sub.call)), sub.call))
        found += _calls(sub)
    return found


def _api_routes(routes: list[Any]) -> list[APIRoute]:
    found = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append(route)
        elif (inner := getattr(route, "original_router", None)) is not None:
            found += _api_routes(inner.routes)  # an included router
    return found


async def test_no_route_dependency_runs_in_the_thread_pool(container: Container) -> None:
    app = create_app(container, manage_lifecycle=False)
    routes = _api_routes(app.routes)
    assert len(routes) > 30
    sync = {
        (route.unique_id, name)
        for route in routes
        for name, call in _calls(route.dependant)
        if not inspect.iscoroutinefunction(call)
    } | {
        ("every route", d.dependency.__qualname__)
        for d in app.router.dependencies
        if d.dependency is not None and not inspect.iscoroutinefunction(d.dependency)
    }
    assert sync == set(), f"plain def dependencies (run in the thread pool): {sorted(sync)}"
