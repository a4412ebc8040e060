"""create_app(container): the FastAPI application of a coordinator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import Depends, FastAPI
from starlette.requests import Request
from starlette.responses import Response

import tickwork
from tickwork.api import errors
from tickwork.api.auth import PERMISSIONS, AuditTrail, authorize
from tickwork.api.compression import JsonCompression
from tickwork.api.deps import operation_id, plain_parameters
from tickwork.api.guards import HostPolicy, RequestGuard, SiteGuard
from tickwork.api.responses import TickworkApp
from tickwork.api.routes import (
    admin,
    alerts,
    bulk,
    calendars,
    events,
    jobs,
    metrics,
    namespaces,
    pipelines,
    runs,
    system,
    workers,
    ws,
)
from tickwork.api.static import IMMUTABLE, REVALIDATE, AssetCache, asset_response, file_under
from tickwork.service.container import Container

STATIC = Path(__file__).resolve().parent.parent / "static"


def create_app(
    container: Container, *, manage_lifecycle: bool = True, background: bool = True
) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if manage_lifecycle:
            await container.start(background=background)
        try:
            yield
        finally:
            if manage_lifecycle:
                await container.stop()

    app = TickworkApp(
        title="tickwork",
        version=tickwork.__version__,
        lifespan=lifespan,
        description="A distributed job scheduler: jobs, schedules, runs, workers, events.",
        generate_unique_id_function=operation_id,
        dependencies=[Depends(authorize), Depends(plain_parameters)],
    )
    app.state.container = container
    errors.install(app)
    for module in (
        jobs,
        calendars,
        bulk,
        runs,
        workers,
        system,
        ws,
        events,
        admin,
        metrics,
        namespaces,
        pipelines,
    ):
        app.include_router(module.router)
    for router in (alerts.channels, alerts.rules, alerts.alerts, pipelines.runs_router):
        app.include_router(router)
    if container.settings.dashboard:
        _mount_dashboard(app)
    app.add_middleware(AuditTrail)
    app.add_middleware(JsonCompression, work=lambda op: PERMISSIONS.get(op) == "work")
    app.add_middleware(RequestGuard, max_body=container.settings.max_body_bytes)
    app.add_middleware(
        SiteGuard,
        hosts=HostPolicy.of(container.settings),
        origins=frozenset(container.settings.allowed_origins),
    )
    return app


def _mount_dashboard(app: FastAPI) -> None:
    """Serve the built dashboard at / with a fallback to index.html for client routes.

    The page shell and its assets hold no data, so they are served without a token: a
    secured server shows its sign-in page. They are plain routes, outside the API's
    ``authorize`` dependency, which guards every API route (deny by default). Files are
    compressed once and cached (``tickwork.api.static``)."""
    index = STATIC / "index.html"
    cache = AssetCache()

    async def assets(request: Request) -> Response:
        found = file_under(STATIC / "assets", request.path_params["path"])
        if found is None:
            return errors.error_response(404, "not_found", f"no asset {request.url.path}")
        return asset_response(request, await cache.get(found), IMMUTABLE)

    async def spa(request: Request) -> Response:
        path: str = request.path_params["path"]
        if path.startswith("api/"):
            return errors.error_response(404, "not_found", f"no route /{path}")
        found = file_under(STATIC, path) or (index if index.is_file() else None)
        if found is not None:
            return asset_response(request, await cache.get(found), REVALIDATE)
        return errors.error_response(
            404,
            "dashboard_not_built",
            "the dashboard is not built: run `make run` (or `npm run build --prefix dashboard`)",
        )

    app.add_route(
        "/assets/{path:path}",
        assets,
        methods=["GET", "HEAD"],
        name="assets",
        include_in_schema=False,
    )
    app.add_route("/{path:path}", spa, methods=["GET"], name="dashboard", include_in_schema=False)
