"""Annotated dependency aliases shared by the routers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.routing import APIRoute

from tickwork.service.container import Container


def get_container(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


ContainerDep = Annotated[Container, Depends(get_container)]


def page_limit(request: Request, limit: int = 50) -> int:
    """The page size asked for, validated against the server's cap."""
    from tickwork.domain.errors import ValidationError

    cap = get_container(request).settings.max_page_size
    if limit < 1 or limit > cap:
        raise ValidationError("limit", f"must be between 1 and {cap}")
    return limit


LimitDep = Annotated[int, Depends(page_limit)]


def operation_id(route: APIRoute) -> str:
    """Operation ids are ``tag-name`` (``jobs-create``), the most specific tag; the
    permission table uses them."""
    return f"{route.tags[-1]}-{route.name}" if route.tags else route.name
