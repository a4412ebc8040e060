"""Quota use cases: a namespace's quotas and tag rate limits (set by admins), its usage,
and why a queued run waits (its namespace's running quota or a rate limit)."""

from __future__ import annotations

from collections.abc import Sequence

from tickwork.coord.base import RateCounter
from tickwork.domain.auth import ANONYMOUS_OPEN, Principal
from tickwork.domain.clock import Clock
from tickwork.domain.errors import RateLimited
from tickwork.domain.namespaces import check_namespace
from tickwork.domain.quotas import Quotas, Usage, check_rate_limit, waiting_reason
from tickwork.domain.runs import Run
from tickwork.store.base import Store

from .metrics import Metrics


class QuotaService:
    def __init__(self, store: Store, clock: Clock, metrics: Metrics) -> None:
        self.store = store
        self.clock = clock
        self.metrics = metrics

    async def get(self, namespaces: Sequence[str]) -> dict[str, tuple[Quotas, Usage]]:
        """Each namespace's quotas and its use of those it has (the others read 0)."""
        quotas = await self.store.quotas.get(list(namespaces))
        usage = await self.store.quotas.usage(
            [ns for ns, q in quotas.items() if q != Quotas()], quotas, now=self.clock.now()
        )
        return {ns: (q, usage.get(ns, Usage())) for ns, q in quotas.items()}

    async def set(
        self, namespace: str, quotas: Quotas, *, who: Principal = ANONYMOUS_OPEN
    ) -> tuple[Quotas, Usage]:
        """Replace a namespace's quotas (admin); what is already queued or running stays."""
        check_namespace(namespace)
        who.require("admin", namespace)
        for tag, limit in quotas.tag_rate_limits.items():
            check_rate_limit(limit, field=f"tag_rate_limits.{tag}")
        await self.store.quotas.set(namespace, quotas, now=self.clock.now())
        return (await self.get([namespace]))[namespace]

    async def waiting(self, run: Run) -> str | None:
        """Why a queued run waits beyond a free worker: its namespace's running quota or a
        rate limit of its job or tags (None for any other run)."""
        if run.status != "queued":
            return None
        found = await self.store.quotas.get([run.namespace])
        quotas = found[run.namespace]
        usage = Usage()
        if quotas.max_running is not None:
            usage = (await self.store.quotas.usage([run.namespace], found, now=self.clock.now()))[
                run.namespace
            ]
        windows = await self.store.quotas.windows(run.job_id, run.namespace)
        return waiting_reason(quotas=quotas, usage=usage, windows=windows, now=self.clock.now())

    def refused(self, namespace: str, quota: str) -> None:
        self.metrics.quota_refusals.labels(namespace, quota).inc()


class ApiRates:
    """Requests per second per token: the token's own ``rate_limit``, else the server's
    ``TICKWORK_API_RATE_LIMIT`` (not for the worker protocol), counted per second over
    every coordinator sharing the Redis (else in this process). Nothing is counted for a
    token under no limit."""

    def __init__(self, rates: RateCounter, clock: Clock, metrics: Metrics, default: int | None):
        self.rates = rates
        self.clock = clock
        self.metrics = metrics
        self.default = default

    async def check(self, who: Principal, *, worker_protocol: bool = False) -> None:
        """RateLimited (429, Retry-After 1) when ``who`` is over its rate this second."""
        rate = who.rate_limit
        if rate is None and not worker_protocol:
            rate = self.default
        if rate is None:
            return
        now = self.clock.now().timestamp()
        if await self.rates.hit(f"token:{who.token_id}", int(now)) > rate:
            self.metrics.rate_limited.labels("api").inc()
            raise RateLimited(
                f"token '{who.name}' is over its {rate} requests per second",
                retry_after=1,
                details={"limit": rate, "per": "1s"},
            )
