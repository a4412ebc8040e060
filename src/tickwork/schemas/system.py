"""Wire models of the overview, health and identity answers."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from tickwork.domain.quotas import QUOTA_NAMES, USAGE_OF, Quotas, RateLimit, Usage
from tickwork.schemas.fields import Count, Int64, Tag
from tickwork.schemas.jobs import RateLimitIn

QUOTA_MAX = 1_000_000_000


class WorkerTotals(BaseModel):
    online: int
    total_slots: int
    busy_slots: int


class SeriesPoint(BaseModel):
    bucket: datetime
    completed: int
    failed: int


class StatsOut(BaseModel):
    jobs: int
    jobs_enabled: int
    jobs_exact: bool = Field(
        default=True,
        description="Whether jobs and jobs_enabled are exact counts (up to 10,000) or the "
        "database's estimate.",
    )
    runs: dict[str, int]
    queue_depth: int
    running: int
    failed_24h: int
    workers: WorkerTotals
    utilization: float
    scheduler_lag: float | None
    scheduler_leader: bool
    success_rate_series: list[SeriesPoint]


class HealthOut(BaseModel):
    status: str = Field(description="ok, or degraded when a backend does not answer (503).")
    version: str
    checks: dict[str, str]
    scheduler_leader: bool


class WhoAmI(BaseModel):
    name: str
    role: str
    auth: bool
    scopes: dict[str, str] = Field(
        default_factory=dict, description="The token's role per namespace ('*': the rest)."
    )


class QuotasIn(BaseModel):
    """A namespace's quotas, each a limit or null (no limit), and the rate limits of the
    runs of its jobs by tag. A PUT replaces them all."""

    model_config = ConfigDict(extra="forbid")

    max_jobs: Count | None = Field(
        default=None, ge=1, le=QUOTA_MAX, description="Jobs; a create over it gets 429."
    )
    max_queued: Count | None = Field(
        default=None,
        ge=1,
        le=QUOTA_MAX,
        description="Queued runs; a trigger (single, bulk) over it gets 429. Scheduled and "
        "dependency runs are never refused, only counted.",
    )
    max_running: Count | None = Field(
        default=None,
        ge=1,
        le=QUOTA_MAX,
        description="Runs running at once; over it a run stays queued, waiting for quota, "
        "and starts when one ends (a scheduled tick starts late, never not at all).",
    )
    runs_per_hour: Count | None = Field(
        default=None,
        ge=1,
        le=QUOTA_MAX,
        description="Runs made in the last hour (sliding); a trigger over it gets 429.",
    )
    max_output_bytes: Int64 | None = Field(
        default=None,
        ge=1,
        le=2**53,
        description="Bytes of captured output kept (stdout and stderr of its attempts); over "
        "it, the retention pass clears the output of the oldest finished attempts.",
    )
    tag_rate_limits: dict[Tag, RateLimitIn] = Field(
        default_factory=dict,
        max_length=100,
        description="Per tag: at most max starts in any window of per, over all the "
        "namespace's jobs carrying the tag; the other runs wait, in order.",
    )

    def to_quotas(self) -> Quotas:
        values = {name: getattr(self, name) for name in QUOTA_NAMES}
        tags = {tag: RateLimit(max=r.max, per=r.per) for tag, r in self.tag_rate_limits.items()}
        return Quotas(**values, tag_rate_limits=tags)


class QuotasOut(QuotasIn):
    model_config = ConfigDict(extra="ignore")

    @classmethod
    def of(cls, quotas: Quotas) -> QuotasOut:
        return cls(
            **{name: quotas.limit(name) for name in QUOTA_NAMES},
            tag_rate_limits={
                tag: RateLimitIn(**r.as_dict()) for tag, r in quotas.tag_rate_limits.items()
            },
        )


class QuotaUse(BaseModel):
    quota: str = Field(description="The quota's name, as in quotas.")
    limit: int
    used: int = Field(description="The namespace's use of it now.")


class NamespaceOut(BaseModel):
    name: str
    jobs: int = Field(description="Jobs in the namespace.")
    role: str | None = Field(description="The calling token's role in the namespace.")
    quotas: QuotasOut = Field(default_factory=QuotasOut, description="Its quotas.")
    usage: list[QuotaUse] = Field(
        default_factory=list, description="Its use of each quota it has, now."
    )

    @classmethod
    def of(
        cls, name: str, jobs: int, role: str | None, quotas: Quotas, usage: Usage
    ) -> NamespaceOut:
        uses = [
            QuotaUse(quota=q, limit=limit, used=jobs if q == "max_jobs" else getattr(usage, u))
            for q, u in USAGE_OF.items()
            if (limit := quotas.limit(q)) is not None
        ]
        return cls(name=name, jobs=jobs, role=role, quotas=QuotasOut.of(quotas), usage=uses)


class NamespaceList(BaseModel):
    namespaces: list[NamespaceOut]
