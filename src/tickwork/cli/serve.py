"""`tickwork server` and `tickwork dev`: run a coordinator (and, for dev, one worker).

The server stack (uvicorn, FastAPI, the services) is imported when a command runs, so the
client commands of the same `tickwork` program start fast.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

import pydantic
import typer
from rich.console import Console
from rich.markup import escape

from tickwork.config import Settings
from tickwork.domain.secrets import NAME_RE
from tickwork.logs import configure

if TYPE_CHECKING:
    from tickwork.service.container import Container

console = Console(stderr=True)


def _serve(settings: Settings, before_exit: Callable[[], None] | None = None) -> None:
    """Run the coordinator until a signal. ``before_exit`` runs (in a thread) when the
    first signal arrives, while the API still answers: ``dev`` stops its worker there, so
    the worker can report and deregister before the server goes away."""
    import uvicorn

    from tickwork.api.app import create_app

    class Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: Any) -> None:
            nonlocal before_exit
            hook, before_exit = before_exit, None
            loop = asyncio.get_event_loop()
            if hook is None:
                loop.call_soon_threadsafe(container.workers.draining.set)
                super().handle_exit(sig, frame)
                return

            async def then_exit() -> None:
                await asyncio.to_thread(hook)
                container.workers.draining.set()
                super(Server, self).handle_exit(sig, frame)

            loop.call_soon_threadsafe(lambda: loop.create_task(then_exit()))

    container = _container(settings)
    config = uvicorn.Config(
        create_app(container),
        host=settings.host,
        port=settings.port,
        log_level=logging.getLevelName(logging.getLogger().level).lower(),
        log_config=None,  # uvicorn's lines go through tickwork's handler, which masks tokens
        ws="websockets-sansio",
        lifespan="on",
        timeout_graceful_shutdown=5,  # open long-polls must not hold a shutdown for 20 s
    )
    Server(config).run()


def _logging(level: str) -> None:
    configure(level, json_lines=_settings().log_json)


def _settings(**values: Any) -> Settings:
    """The settings, or a clean refusal naming each bad one (exit status 2, no traceback)."""
    try:
        return Settings(**values)
    except pydantic.ValidationError as exc:
        console.print("[bold red]tickwork: refusing to start with these settings[/]")
        for problem in _problems(exc):
            console.print(f"  - {escape(problem)}")
        console.print("(every setting is also TICKWORK_<NAME>; docs/reference.md lists them)")
        raise typer.Exit(2) from None


def _problems(exc: pydantic.ValidationError) -> list[str]:
    out: list[str] = []
    for error in exc.errors():
        cause = (error.get("ctx") or {}).get("error")
        if cause is not None and hasattr(cause, "problems"):
            out += list(cause.problems)  # the lease rules, one line each
            continue
        name = ".".join(str(part) for part in error["loc"])
        out.append(f"{name} (TICKWORK_{name.upper()}): {error['msg']}" if name else error["msg"])
    return out


def server(
    host: Annotated[str, typer.Option(envvar="TICKWORK_HOST")] = "127.0.0.1",
    port: Annotated[int, typer.Option(envvar="TICKWORK_PORT")] = 8000,
    database_url: Annotated[str | None, typer.Option(envvar="TICKWORK_DATABASE_URL")] = None,
    redis_url: Annotated[str | None, typer.Option(envvar="TICKWORK_REDIS_URL")] = None,
    log_level: Annotated[str, typer.Option(envvar="TICKWORK_LOG_LEVEL")] = "info",
    insecure: Annotated[
        bool,
        typer.Option(
            "--insecure",
            envvar="TICKWORK_INSECURE",
            help="Run without authentication: anyone who reaches the port can run commands.",
        ),
    ] = False,
) -> None:
    """Run a coordinator: REST + WebSocket API, dashboard, scheduler (when leader), reaper.

    Authentication is required: create tokens with `tickwork tokens create --role admin`,
    or pass --insecure explicitly to run open. It answers only to the Host names in
    TICKWORK_ALLOWED_HOSTS besides loopback names and a specific --host; with --host 0.0.0.0
    that list is required.
    """
    _logging(log_level)
    overrides = {
        k: v
        for k, v in {
            "host": host,
            "port": port,
            "database_url": database_url,
            "redis_url": redis_url,
        }.items()
        if v is not None
    }
    settings = _settings(**overrides, auth=not insecure)
    problem = settings.bind_problem()
    if problem is not None:
        console.print(f"[bold red]error:[/] {problem}")
        raise typer.Exit(2)
    if insecure:
        console.print(
            "[bold red]--insecure: authentication is OFF[/] — anyone who can reach "
            f"{settings.host}:{settings.port} can run shell commands on your workers"
        )
    console.print(
        f"tickwork coordinator on http://{settings.host}:{settings.port} "
        f"(database: {settings.database_url.split('@')[-1]}, "
        f"coordination: {'redis' if settings.redis_url else 'in-process'})"
    )
    _serve(settings)


def _secret_names(names: list[str] | None) -> list[str]:
    for name in names or []:
        if not NAME_RE.match(name):
            raise typer.BadParameter(f"{name!r} is not a variable name (letters, digits, _)")
    return names or []


def dev(
    port: Annotated[int, typer.Option(envvar="TICKWORK_PORT")] = 8000,
    database: Annotated[str, typer.Option(help="SQLite file.")] = "./tickwork.db",
    concurrency: Annotated[int, typer.Option(help="Slots of the bundled worker.")] = 4,
    worker: Annotated[bool, typer.Option(help="Start one worker alongside.")] = True,
    log_level: Annotated[str, typer.Option(envvar="TICKWORK_LOG_LEVEL")] = "warning",
    secret: Annotated[
        list[str] | None,
        typer.Option(
            "--secret",
            metavar="NAME",
            callback=_secret_names,
            help='An environment variable {"$secret": NAME} may resolve in the bundled '
            "worker (repeatable; TICKWORK_SECRETS=NAME,NAME works too). No other does.",
        ),
    ] = None,
) -> None:
    """The all-in-one: coordinator + one worker on SQLite and in-process coordination."""
    _logging(log_level)
    settings = _settings(
        host="127.0.0.1", port=port, database_url=f"sqlite:///{database}", redis_url=None
    )
    url = f"http://127.0.0.1:{port}"
    console.print(
        f"[bold]tickwork dev[/] — dashboard and API at [link={url}]{url}[/link]  "
        f"(SQLite {database}, in-process locks and events)"
    )
    console.print("[yellow]open access: no authentication, listening on 127.0.0.1 only[/]")
    child = subprocess.Popen(_worker_command(url, concurrency, secret or [])) if worker else None
    # uvicorn re-raises the SIGTERM that stopped it; exit through `finally` so the worker stops too
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        _serve(settings, before_exit=(lambda: _stop_worker(child)) if child else None)
    finally:
        if child is not None:
            _stop_worker(child)


def _exit_on_sigterm(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def _worker_command(url: str, concurrency: int, secrets: list[str]) -> list[str]:
    """The bundled worker: `python -m tickwork.worker …` (it inherits the environment)."""
    return [
        sys.executable,
        "-m",
        "tickwork.worker",
        "--server",
        url,
        "--tags",
        "default",
        "--concurrency",
        str(concurrency),
        "--path",
        os.getcwd(),
        *[arg for name in secrets for arg in ("--secret", name)],
    ]


def _stop_worker(child: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        child.send_signal(signal.SIGTERM)
    try:
        child.wait(timeout=40)
    except subprocess.TimeoutExpired:
        child.kill()


def db_upgrade(
    database_url: Annotated[
        str, typer.Option(envvar="TICKWORK_DATABASE_URL")
    ] = "sqlite:///./tickwork.db",
) -> None:
    """Apply the database migrations (the server also does this at start)."""

    async def go() -> None:
        container = _container(Settings(database_url=database_url))
        await container.start(background=False)  # applies the migrations
        await container.stop()

    asyncio.run(go())
    console.print("database is at the latest schema")


def _container(settings: Settings) -> Container:
    from tickwork.service.container import Container

    return Container(settings)
