"""``Client``: the blocking facade of ``AsyncClient``.

No second implementation: each method of ``Client`` runs the ``AsyncClient`` coroutine of the
same name on a private event loop in a daemon thread and waits for it; the ``iter_*`` and
``follow_run`` generators step the async ones. A forgotten ``close()`` never keeps the
interpreter from exiting (the thread is a daemon, and a finaliser stops the loop).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import weakref
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from concurrent.futures import Future
from functools import update_wrapper
from types import TracebackType
from typing import Any, Concatenate, Generic, ParamSpec, Self, TypeVar, overload

import httpx

from tickwork.client.core import AsyncClient
from tickwork.client.http import RetryPolicy

__all__ = ["Client"]

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")


class _Loop:
    """An event loop running forever in a daemon thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(
            target=self.loop.run_forever, name="tickwork-client", daemon=True
        )
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        future: Future[T] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result()
        except BaseException:
            future.cancel()  # e.g. Ctrl-C while waiting: stop the request too
            raise

    def stop(self) -> None:
        if self.loop.is_closed():
            return
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        if not self.thread.is_alive():
            self.loop.close()


def _shutdown(loop: _Loop, client: AsyncClient) -> None:
    if not loop.loop.is_closed() and loop.thread.is_alive():
        try:
            loop.run(_drain(client))
        finally:
            loop.stop()


async def _drain(client: AsyncClient) -> None:
    """Cancel what an interrupted call left running (e.g. a followed WebSocket), then close."""
    current = asyncio.current_task()
    leftovers = [task for task in asyncio.all_tasks() if task is not current]
    for task in leftovers:
        task.cancel()
    await asyncio.gather(*leftovers, return_exceptions=True)
    await client.aclose()


class _Blocking(Generic[P, R]):
    """A method of ``Client`` that runs the ``AsyncClient`` coroutine method ``fn``."""

    def __init__(self, fn: Callable[Concatenate[AsyncClient, P], Coroutine[Any, Any, R]]) -> None:
        self.fn = fn
        self.__doc__ = fn.__doc__  # help(Client) shows the coroutines' docs

    @overload
    def __get__(self, obj: None, owner: type[Any]) -> Self: ...
    @overload
    def __get__(self, obj: Client, owner: type[Any]) -> Callable[P, R]: ...
    def __get__(self, obj: Client | None, owner: type[Any]) -> Self | Callable[P, R]:
        if obj is None:
            return self
        fn, client, loop = self.fn, obj.aio, obj._loop

        def call(*args: P.args, **kwargs: P.kwargs) -> R:
            return loop.run(fn(client, *args, **kwargs))

        return update_wrapper(call, fn)


class _BlockingIter(Generic[P, R]):
    """A generator method of ``Client`` stepping the ``AsyncClient`` async generator ``fn``."""

    def __init__(self, fn: Callable[Concatenate[AsyncClient, P], AsyncIterator[R]]) -> None:
        self.fn = fn
        self.__doc__ = fn.__doc__

    @overload
    def __get__(self, obj: None, owner: type[Any]) -> Self: ...
    @overload
    def __get__(self, obj: Client, owner: type[Any]) -> Callable[P, Iterator[R]]: ...
    def __get__(self, obj: Client | None, owner: type[Any]) -> Self | Callable[P, Iterator[R]]:
        if obj is None:
            return self
        fn, client, loop = self.fn, obj.aio, obj._loop

        def call(*args: P.args, **kwargs: P.kwargs) -> Iterator[R]:
            return _step(loop, fn(client, *args, **kwargs))

        return update_wrapper(call, fn)


def _step(loop: _Loop, items: AsyncIterator[R]) -> Iterator[R]:
    async def next_item() -> tuple[bool, R | None]:
        try:
            return True, await anext(items)
        except StopAsyncIteration:
            return False, None

    try:
        while True:
            more, item = loop.run(next_item())
            if not more:
                return
            yield item  # type: ignore[misc]  # ``more`` means it is an R
    finally:
        closer = getattr(items, "aclose", None)
        # after an interrupted step the generator may still be unwinding: then it just ends
        if closer is not None and not loop.loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.run(closer())


class Client:
    """The tickwork API, blocking: the same methods as ``AsyncClient``, not coroutines.

    ``url`` defaults to ``TICKWORK_SERVER`` (else http://127.0.0.1:8000) and ``token`` to
    ``TICKWORK_TOKEN``. Use it as a context manager or call ``close()``.
    """

    def __init__(
        self,
        url: str | None = None,
        token: str | None = None,
        *,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        namespace: str | None = None,
    ) -> None:
        self._loop = _Loop()

        async def make() -> AsyncClient:
            return AsyncClient(
                url, token, timeout=timeout, retry=retry, transport=transport, namespace=namespace
            )

        self.aio = self._loop.run(make())
        """The ``AsyncClient`` underneath (it lives on the private loop: use it only there)."""
        self.url = self.aio.url
        self.namespace = self.aio.namespace
        self._finalizer = weakref.finalize(self, _shutdown, self._loop, self.aio)

    def close(self) -> None:
        self._finalizer()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    create_job = _Blocking(AsyncClient.create_job)
    get_job = _Blocking(AsyncClient.get_job)
    list_jobs = _Blocking(AsyncClient.list_jobs)
    iter_jobs = _BlockingIter(AsyncClient.iter_jobs)
    replace_job = _Blocking(AsyncClient.replace_job)
    patch_job = _Blocking(AsyncClient.patch_job)
    delete_job = _Blocking(AsyncClient.delete_job)
    trigger = _Blocking(AsyncClient.trigger)
    pause_job = _Blocking(AsyncClient.pause_job)
    resume_job = _Blocking(AsyncClient.resume_job)
    job_runs = _Blocking(AsyncClient.job_runs)
    dag = _Blocking(AsyncClient.dag)
    preview_schedule = _Blocking(AsyncClient.preview_schedule)

    create_calendar = _Blocking(AsyncClient.create_calendar)
    list_calendars = _Blocking(AsyncClient.list_calendars)
    get_calendar = _Blocking(AsyncClient.get_calendar)
    replace_calendar = _Blocking(AsyncClient.replace_calendar)
    delete_calendar = _Blocking(AsyncClient.delete_calendar)
    create_pipeline = _Blocking(AsyncClient.create_pipeline)
    list_pipelines = _Blocking(AsyncClient.list_pipelines)
    get_pipeline = _Blocking(AsyncClient.get_pipeline)
    replace_pipeline = _Blocking(AsyncClient.replace_pipeline)
    delete_pipeline = _Blocking(AsyncClient.delete_pipeline)
    pause_pipeline = _Blocking(AsyncClient.pause_pipeline)
    resume_pipeline = _Blocking(AsyncClient.resume_pipeline)
    trigger_pipeline = _Blocking(AsyncClient.trigger_pipeline)
    pipeline_runs = _Blocking(AsyncClient.pipeline_runs)
    get_pipeline_run = _Blocking(AsyncClient.get_pipeline_run)
    cancel_pipeline_run = _Blocking(AsyncClient.cancel_pipeline_run)
    retry_pipeline_run = _Blocking(AsyncClient.retry_pipeline_run)

    list_runs = _Blocking(AsyncClient.list_runs)
    iter_runs = _BlockingIter(AsyncClient.iter_runs)
    get_run = _Blocking(AsyncClient.get_run)
    run_logs = _Blocking(AsyncClient.run_logs)
    cancel_run = _Blocking(AsyncClient.cancel_run)
    retry_run = _Blocking(AsyncClient.retry_run)
    bulk_trigger = _Blocking(AsyncClient.bulk_trigger)
    list_events = _Blocking(AsyncClient.list_events)
    follow_run = _BlockingIter(AsyncClient.follow_run)

    list_workers = _Blocking(AsyncClient.list_workers)
    list_dead_letters = _Blocking(AsyncClient.list_dead_letters)
    replay_dead_letter = _Blocking(AsyncClient.replay_dead_letter)
    resolve_dead_letter = _Blocking(AsyncClient.resolve_dead_letter)
    stats = _Blocking(AsyncClient.stats)
    health = _Blocking(AsyncClient.health)
    metrics = _Blocking(AsyncClient.metrics)
    whoami = _Blocking(AsyncClient.whoami)

    create_token = _Blocking(AsyncClient.create_token)
    list_tokens = _Blocking(AsyncClient.list_tokens)
    revoke_token = _Blocking(AsyncClient.revoke_token)
    audit = _Blocking(AsyncClient.audit)
    prune = _Blocking(AsyncClient.prune)

    list_alert_channels = _Blocking(AsyncClient.list_alert_channels)
    put_alert_channel = _Blocking(AsyncClient.put_alert_channel)
    test_alert_channel = _Blocking(AsyncClient.test_alert_channel)
    list_alert_rules = _Blocking(AsyncClient.list_alert_rules)
    put_alert_rule = _Blocking(AsyncClient.put_alert_rule)
    list_alerts = _Blocking(AsyncClient.list_alerts)
