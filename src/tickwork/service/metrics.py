"""Prometheus metrics: counters observed as things happen, gauges read at scrape time."""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
)

DURATION_BUCKETS = (0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600, float("inf"))
OTHER_JOBS = "(other)"
"""The ``job`` label of the jobs past ``metrics_jobs``."""


class Metrics:
    """One registry per coordinator container (tests run many side by side).

    The series labelled by job are bounded: the first ``jobs`` jobs a coordinator sees get
    series of their own, the rest count together under ``job="(other)"``. A label per job
    of a million (15 series each for the duration histogram) would hold millions of series
    in the coordinator's memory and in every scrape; the jobs' own figures are in the API
    (``GET /api/jobs/{id}/stats``), from the database."""

    def __init__(self, jobs: int = 500) -> None:
        self._jobs_labelled = jobs
        self._job_labels: set[str] = set()
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        ProcessCollector(registry=r)  # process_cpu_seconds_total, memory: `tickwork bench`
        self.runs_finished = Counter(
            "tickwork_runs_finished",
            "Attempts ended, by job and outcome status",
            ["job", "status"],
            registry=r,
        )
        self.run_duration = Histogram(
            "tickwork_run_duration_seconds",
            "Attempt durations",
            ["job"],
            buckets=DURATION_BUCKETS,
            registry=r,
        )
        self.runs_created = Counter(
            "tickwork_runs_created", "Runs created by trigger kind", ["trigger"], registry=r
        )
        self.fire_lag = Histogram(
            "tickwork_scheduler_fire_lag_seconds",
            "Scheduled time to run creation",
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 30, 60, float("inf")),
            registry=r,
        )
        self.lease_expiries = Counter(
            "tickwork_lease_expiries", "Leases that ran out (worker lost)", registry=r
        )
        self.pruned = Counter(
            "tickwork_pruned", "Rows removed by retention, by kind", ["kind"], registry=r
        )
        self.sla_breaches = Counter(
            "tickwork_sla_breaches",
            "SLA breaches and silent jobs found, by job and kind (finish_within, max_duration, "
            "silent)",
            ["job", "kind"],
            registry=r,
        )
        self.alerts_delivered = Counter(
            "tickwork_alerts_delivered",
            "Alert messages sent or failed, by channel type and outcome",
            ["type", "outcome"],
            registry=r,
        )
        self.queue_depth = Gauge("tickwork_queue_depth", "Runs ready to start", registry=r)
        self.running = Gauge("tickwork_runs_running", "Runs running now", registry=r)
        self.runs_by_status = Gauge("tickwork_runs", "Runs by status", ["status"], registry=r)
        self.scheduler_lag = Gauge(
            "tickwork_scheduler_lag_seconds", "Age of the oldest due job not yet fired", registry=r
        )
        self.leader = Gauge(
            "tickwork_scheduler_leader", "1 while this coordinator leads", registry=r
        )
        self.worker_slots = Gauge("tickwork_worker_slots", "Worker slots", ["state"], registry=r)
        self.workers = Gauge("tickwork_workers_online", "Workers online", registry=r)
        self.jobs = Gauge("tickwork_jobs", "Jobs", ["state"], registry=r)
        self.rate_limited = Counter(
            "tickwork_rate_limited",
            "Held back by a limit: API requests over their token's rate (kind api), runs "
            "passed over at a claim by a job or tag rate limit (job, tag) or their namespace's "
            "running quota (quota); a waiting run counts at each claim that passes it over",
            ["kind"],
            registry=r,
        )
        self.quota_refusals = Counter(
            "tickwork_quota_refusals",
            "Creates and triggers refused over a namespace's quota",
            ["namespace", "quota"],
            registry=r,
        )

    def job(self, name: str) -> str:
        """The ``job`` label of the job named ``name``."""
        if name in self._job_labels:
            return name
        if len(self._job_labels) < self._jobs_labelled:
            self._job_labels.add(name)
            return name
        return OTHER_JOBS

    def held(self, held: dict[str, int]) -> None:
        """Runs a claim's limits held back, by kind."""
        for kind, n in held.items():
            self.rate_limited.labels(kind).inc(n)

    def render(self) -> bytes:
        return generate_latest(self.registry)
