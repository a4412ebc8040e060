"""`tickwork tokens create|list|revoke`: run against the database, so the first admin token
can be made before any token exists (whoever holds the database URL is already trusted)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from tickwork.config import Settings
from tickwork.domain.errors import TickworkError

if TYPE_CHECKING:
    from tickwork.service.container import Container

app = typer.Typer(
    help="Create, list and revoke API tokens (talks to the database).", no_args_is_help=True
)
out = Console()
T = TypeVar("T")

DbOption = Annotated[
    str,
    typer.Option(
        "--database-url", envvar="TICKWORK_DATABASE_URL", help="The coordinator's database."
    ),
]


def _with_container(url: str, fn: Callable[[Container], Awaitable[T]]) -> T:
    from tickwork.service.container import Container  # the services load only when used

    async def go() -> T:
        c = Container(Settings(database_url=url))
        await c.start(background=False)
        try:
            return await fn(c)
        finally:
            await c.stop()

    return asyncio.run(go())


@app.command("create")
def create(
    role: Annotated[
        str | None, typer.Option(help="viewer, operator, admin or worker, in every namespace")
    ] = None,
    scope: Annotated[
        list[str] | None,
        typer.Option(
            help="NAMESPACE=ROLE (repeatable; '*=ROLE' for every other namespace), instead "
            "of --role: --scope payments=operator --scope '*=viewer'"
        ),
    ] = None,
    worker_tag: Annotated[
        list[str] | None,
        typer.Option(help="A worker using the token may register only with these tags."),
    ] = None,
    name: Annotated[str, typer.Option(help="Who or what holds it.")] = "",
    expires_in_days: Annotated[float | None, typer.Option(help="Lifetime in days.")] = None,
    rate_limit: Annotated[
        int | None,
        typer.Option(help="Requests per second it may make (else TICKWORK_API_RATE_LIMIT)."),
    ] = None,
    database_url: DbOption = "sqlite:///./tickwork.db",
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Create a token and print its secret once (only a hash is stored)."""
    expires = timedelta(days=expires_in_days) if expires_in_days else None
    scopes = _scopes(scope) if scope else None
    label = name or f"{role or ','.join(scope or [])} token"
    try:
        record, secret = _with_container(
            database_url,
            lambda c: c.tokens.create(
                name=label,
                role=role,
                scopes=scopes,
                worker_tags=worker_tag,
                expires_in=expires,
                rate_limit=rate_limit,
            ),
        )
    except TickworkError as exc:
        Console(stderr=True).print(f"[bold red]error:[/] {exc.message}")
        raise typer.Exit(2) from exc
    if as_json:
        out.print_json(
            json.dumps(
                {
                    "id": record.id,
                    "role": record.role,
                    "scopes": dict(record.scopes) if record.scopes else None,
                    "rate_limit": record.rate_limit,
                    "token": secret,
                    "expires_at": record.expires_at.isoformat() if record.expires_at else None,
                }
            )
        )
        return
    held = ", ".join(f"{k}={v}" for k, v in (record.scopes or {}).items()) or record.role
    out.print(f"[green]created[/] {record.id} ({held}), expires {record.expires_at or 'never'}")
    out.print(secret, highlight=False, soft_wrap=True)


def _scopes(pairs: list[str]) -> dict[str, str]:
    scopes: dict[str, str] = {}
    for pair in pairs:
        ns, sep, role = pair.partition("=")
        if not sep or not ns or not role:
            Console(stderr=True).print(f"[bold red]error:[/] --scope {pair!r}: use NAMESPACE=ROLE")
            raise typer.Exit(2)
        scopes[ns] = role
    return scopes


@app.command("list")
def list_(
    database_url: DbOption = "sqlite:///./tickwork.db",
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List tokens (never their secrets)."""
    records = _with_container(database_url, lambda c: c.tokens.list_tokens())
    if as_json:
        rows = [
            {
                "id": r.id,
                "name": r.name,
                "role": r.role,
                "scopes": dict(r.scopes) if r.scopes else None,
                **{
                    k: v.isoformat() if v else None
                    for k, v in (
                        ("created_at", r.created_at),
                        ("expires_at", r.expires_at),
                        ("revoked_at", r.revoked_at),
                        ("last_used_at", r.last_used_at),
                    )
                },
            }
            for r in records
        ]
        out.print_json(json.dumps(rows))
        return
    table = Table("id", "name", "role", "created", "expires", "revoked", "last used")
    for r in records:
        table.add_row(
            r.id,
            r.name,
            ", ".join(f"{k}={v}" for k, v in r.scopes.items()) if r.scopes else r.role,
            f"{r.created_at:%Y-%m-%d %H:%M}",
            str(r.expires_at or "never"),
            str(r.revoked_at or ""),
            str(r.last_used_at or ""),
        )
    out.print(table)


@app.command("revoke")
def revoke(
    token_id: str,
    database_url: DbOption = "sqlite:///./tickwork.db",
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Revoke a token by id. Coordinators sharing Redis with this command (TICKWORK_REDIS_URL)
    stop accepting it at once; others within their token_cache_seconds (2 s by default)."""
    _with_container(database_url, lambda c: c.tokens.revoke(token_id))
    if as_json:
        out.print_json(json.dumps({"revoked": token_id}))
        return
    out.print(f"revoked {token_id}")
