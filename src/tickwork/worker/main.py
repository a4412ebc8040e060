"""``python -m tickwork.worker``: parse options, run a worker until SIGTERM/SIGINT.

``run_worker(options)`` is the entry point the ``tickwork worker`` command calls too.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import TextIO

from tickwork.client.errors import ApiError
from tickwork.domain.leases import LeaseSettingsError
from tickwork.domain.secrets import NAME_RE, is_own
from tickwork.worker.options import DEFAULT_SERVER, WorkerOptions, parse_tags
from tickwork.worker.runtime import MAX_CONCURRENCY, MAX_PROCESSES, Worker

__all__ = ["build_worker", "main", "parse_options", "run_worker", "serve"]

log = logging.getLogger(__name__)

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def build_worker(options: WorkerOptions, *, stdout: TextIO | None = None) -> Worker:
    return Worker(
        options.server,
        options.tags,
        options.concurrency,
        processes=options.processes,
        async_per_child=options.async_per_child,
        stall_after=options.stall_after,
        prefetch=options.prefetch,
        token=options.token,
        import_paths=options.import_paths(),
        heartbeat_interval=options.heartbeat_interval,
        grace_period=options.kill_grace,
        shutdown_grace=options.grace,
        redis_url=options.redis_url,
        redis_prefix=options.redis_prefix,
        hostname=options.hostname,
        max_runs_per_child=options.max_runs_per_child,
        preload=options.preload,
        secrets=options.secrets,
        stdout=stdout,
    )


def _announce_secrets(names: Sequence[str]) -> None:
    own = [name for name in names if is_own(name)]
    if own:
        log.warning("never resolved, tickwork's own variables: %s", ", ".join(own))
    allowed = [name for name in names if not is_own(name)]
    log.info("secrets this worker resolves: %s", ", ".join(allowed) or "none")


async def serve(options: WorkerOptions, *, stdout: TextIO | None = None) -> None:
    """Run one worker in the running loop; SIGTERM/SIGINT stop it gracefully (twice: hurry)."""
    _announce_secrets(options.secrets)
    worker = build_worker(options, stdout=stdout)
    loop = asyncio.get_running_loop()
    signals = (signal.SIGTERM, signal.SIGINT)
    for sig in signals:
        loop.add_signal_handler(sig, worker.request_stop)
    try:
        await worker.run()
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)


def run_worker(options: WorkerOptions) -> int:
    """Run a worker until it is stopped; the process exit code (0, or 1 if refused)."""
    logging.basicConfig(level=options.log_level.upper(), format=LOG_FORMAT, stream=sys.stderr)
    for chatty in ("httpx", "httpcore"):  # one line per request is noise, not a log
        logging.getLogger(chatty).setLevel(max(logging.WARNING, logging.getLogger().level))
    try:
        asyncio.run(serve(options))
    except ApiError as exc:
        log.error("the coordinator at %s refused this worker: %s", options.server, exc)
        return 1
    except LeaseSettingsError as exc:
        log.error(
            "this worker cannot keep the lease of the coordinator at %s: %s", options.server, exc
        )
        return 1
    return 0


def parse_options(
    argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None
) -> WorkerOptions:
    """Flags first, then ``TICKWORK_*`` variables, then defaults."""
    env = os.environ if environ is None else environ
    parser = _parser(env)
    args = parser.parse_args(argv)
    if args.processes is not None and args.processes > args.concurrency:
        parser.error(
            f"--processes {args.processes} is more than --concurrency {args.concurrency}: "
            "process slots are part of the runs in flight"
        )
    return WorkerOptions(
        server=args.server,
        tags=parse_tags(args.tags) or ("default",),
        concurrency=args.concurrency,
        processes=args.processes,
        async_per_child=args.async_per_child,
        stall_after=args.stall_after,
        prefetch=args.prefetch,
        token=args.token or None,
        paths=tuple(args.path),
        redis_url=args.redis_url or None,
        redis_prefix=args.redis_prefix,
        grace=args.grace,
        kill_grace=args.kill_grace,
        heartbeat_interval=args.heartbeat_interval,
        max_runs_per_child=args.max_runs_per_child,
        preload=parse_tags(args.preload),
        secrets=tuple(dict.fromkeys(args.secret)),
        hostname=args.hostname or None,
        log_level=args.log_level,
    )


def _parser(env: Mapping[str, str]) -> argparse.ArgumentParser:
    def opt(name: str, default: str | None = None) -> str | None:
        return env.get(f"TICKWORK_{name}", default)

    p = argparse.ArgumentParser(
        prog="python -m tickwork.worker",
        description="Run a tickwork worker. Every option can also be set as TICKWORK_<NAME>.",
    )
    p.add_argument("--server", default=opt("SERVER", DEFAULT_SERVER), help="coordinator URL")
    p.add_argument("--tags", default=opt("TAGS", "default"), help="comma-separated tags")
    p.add_argument(
        "--concurrency",
        type=_bounded(1, MAX_CONCURRENCY),
        default=opt("CONCURRENCY", "4"),
        help="runs in flight at most: sync, async def and http runs alike (default 4, at most "
        f"{MAX_CONCURRENCY})",
    )
    p.add_argument(
        "--processes",
        type=_bounded(1, MAX_PROCESSES),
        default=opt("PROCESSES"),
        help="process slots: sync python functions and shell commands running at once, each "
        "in a process (default: as many as --concurrency, at most "
        f"{MAX_PROCESSES}); async def and http runs need none",
    )
    p.add_argument(
        "--async-per-child",
        type=_bounded(1, MAX_CONCURRENCY),
        default=opt("ASYNC_PER_CHILD", "500"),
        help="async def runs one pool child's event loop hosts at once (default 500)",
    )
    p.add_argument(
        "--stall-after",
        type=_positive_seconds,
        default=opt("STALL_AFTER", "1"),
        help="seconds an async child's event loop may be blocked before the run blocking it is "
        "reported in its output and the worker's log (default 1)",
    )
    p.add_argument(
        "--prefetch",
        type=_count,
        default=opt("PREFETCH"),
        help="runs claimed ahead of free slots (default: a quarter of the slots, at most 16; "
        "0: claim only for free slots)",
    )
    p.add_argument("--token", default=opt("TOKEN"), help="worker API token")
    p.add_argument(
        "--path",
        action="append",
        default=_paths(opt("PATH")),
        help="directory python jobs import from (repeatable; TICKWORK_PATH uses os.pathsep)",
    )
    p.add_argument("--redis-url", default=opt("REDIS_URL"), help="Redis for run locks")
    p.add_argument("--redis-prefix", default=opt("REDIS_PREFIX", "tickwork"))
    p.add_argument(
        "--grace",
        type=_seconds,
        default=opt("GRACE", "30"),
        help="seconds in-flight runs may take to finish at shutdown",
    )
    p.add_argument(
        "--kill-grace",
        type=_seconds,
        default=opt("KILL_GRACE", "10"),
        help="seconds between SIGTERM and SIGKILL when a run is stopped (shorter when its "
        "lease is lost: the run must be dead before another worker may get it)",
    )
    p.add_argument(
        "--heartbeat-interval",
        type=_seconds,
        default=opt("HEARTBEAT_INTERVAL"),
        help="longest gap between heartbeats (default: the coordinator's; one its lease "
        "cannot allow is refused)",
    )
    p.add_argument(
        "--max-runs-per-child", type=_positive_int, default=opt("MAX_RUNS_PER_CHILD", "1000")
    )
    p.add_argument("--preload", default=opt("PRELOAD", ""), help="modules to import in the pool")
    p.add_argument(
        "--secret",
        action="append",
        type=_secret_name,
        default=_secret_names(opt("SECRETS")),
        metavar="NAME",
        help='an environment variable {"$secret": NAME} may resolve (repeatable; also '
        "TICKWORK_SECRETS=NAME,NAME); no other resolves, TICKWORK_* never",
    )
    p.add_argument("--hostname", default=opt("HOSTNAME"))
    p.add_argument("--log-level", default=opt("LOG_LEVEL", "INFO"))
    return p


def _paths(value: str | None) -> list[str]:
    return [p for p in (value or "").split(os.pathsep) if p]


def _secret_names(value: str | None) -> list[str]:
    try:
        return [_secret_name(name) for name in parse_tags(value or "")]
    except argparse.ArgumentTypeError as exc:
        raise SystemExit(f"TICKWORK_SECRETS: {exc}") from exc


def _secret_name(text: str) -> str:
    name = text.strip()
    if not NAME_RE.match(name):
        raise argparse.ArgumentTypeError(f"{name!r} is not a variable name (letters, digits, _)")
    return name


def _positive_int(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 1000:
        raise argparse.ArgumentTypeError(f"{value} is not between 1 and 1000")
    return value


def _bounded(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        value = int(text)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is not between {low} and {high}")
        return value

    return parse


def _positive_seconds(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{value:g} is not more than 0")
    return value


def _count(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 1000:
        raise argparse.ArgumentTypeError(f"{value} is not between 0 and 1000")
    return value


def _seconds(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    return run_worker(parse_options(argv))
