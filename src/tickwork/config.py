"""Settings from the environment (prefix ``TICKWORK_``); nothing is built at import time."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from tickwork.domain import leases

WILDCARD_BINDS = frozenset({"0.0.0.0", "::", "[::]", ""})


class Settings(BaseSettings):
    """Coordinator settings. Every field can be set as ``TICKWORK_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="TICKWORK_", extra="ignore")

    database_url: str = Field(
        default="sqlite:///./tickwork.db",
        description="postgresql://… for production; sqlite:///path for the embedded default.",
    )
    database_prepared_statements: bool = Field(
        default=True,
        description="Let the PostgreSQL driver prepare repeated statements on the server. "
        "Set false behind PgBouncer in transaction pooling mode without prepared-statement "
        "support (PgBouncer before 1.21, or max_prepared_statements = 0).",
    )
    redis_url: str | None = Field(
        default=None, description="redis://… for locks, leader lease and events; else in-process."
    )
    redis_prefix: str = Field(default="tickwork", description="Prefix of every Redis key.")
    host: str = "127.0.0.1"
    port: int = 8000
    scheduler_interval: float = Field(default=0.25, gt=0, description="Seconds between ticks.")
    scheduler_batch: int = Field(default=1000, ge=1, le=100_000)
    misfire_grace: float = Field(
        default=60.0, ge=0, description="A tick later than this is a misfire (catch-up applies)."
    )
    catchup_limit: int = Field(default=100, ge=1, description="Most runs one catch-up makes.")
    schedule_ahead: float = Field(
        default=60.0,
        ge=0,
        le=3600,
        description="Seconds ahead of a tick its runs are written, claimable at their fire "
        "time (0: written when due).",
    )
    leader_ttl: float = Field(default=10.0, gt=0, description="Leader lease length in seconds.")
    lease_seconds: float = Field(default=90.0, gt=1, description="Run lease; heartbeats extend it.")
    ack_timeout: float = Field(default=30.0, gt=0, description="Claim must be confirmed by then.")
    heartbeat_interval: float | None = Field(
        default=None,
        gt=0,
        description="Seconds between a worker's heartbeats; unset: 30, or less if the lease "
        "needs it (see domain/leases.py for the rule).",
    )
    worker_lost_after: float = Field(
        default=90.0, gt=0, description="Missed heartbeats for this long mark a worker lost."
    )
    reaper_interval: float = Field(default=1.0, gt=0)
    event_retention_hours: float = Field(default=24.0, gt=0)
    retain_runs_days: float = Field(
        default=30.0,
        gt=0,
        description="Finished runs older than this go, with their attempts and output (a "
        "job's retention_days/retention_runs override it; its latest run and runs with an "
        "unresolved dead letter stay).",
    )
    retain_output_days: float = Field(
        default=7.0, gt=0, description="Attempts' stdout/stderr older than this is cleared."
    )
    retain_audit_days: float = Field(default=365.0, gt=0, description="Audit entries kept.")
    retain_workers_days: float = Field(
        default=7.0, gt=0, description="Rows of workers gone (offline or lost) this long go."
    )
    prune_interval: float = Field(
        default=300.0, gt=0, description="Seconds between the leader's retention passes."
    )
    prune_batch: int = Field(
        default=500, ge=1, le=10_000, description="Rows per delete transaction."
    )
    prune_pause: float = Field(
        default=0.05,
        ge=0,
        le=10,
        description="Seconds between batches while a backlog is pruned (room for the run path).",
    )
    max_body_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)
    max_output_bytes: int = Field(default=1024 * 1024, ge=1024, description="Kept per attempt.")
    metrics_jobs: int = Field(
        default=500,
        ge=0,
        le=100_000,
        description="Jobs with series of their own in /metrics; the rest count as job=(other).",
    )
    max_page_size: int = Field(
        default=500, ge=1, le=500, description="Largest page a list answers (at most 500)."
    )
    claim_wait: float = Field(default=20.0, ge=0, description="Longest claim long-poll.")
    dashboard: bool = Field(default=True, description="Serve the built dashboard at /.")
    auth: bool = Field(default=False, description="Require API tokens.")
    token_cache_seconds: float = Field(
        default=2.0,
        ge=0,
        le=60,
        description="Seconds a coordinator trusts a token it has looked up before looking "
        "again (0: every request). A token revoked through the API stops at once on every "
        "coordinator sharing its Redis; one revoked otherwise (`tickwork tokens revoke` "
        "without Redis) stops within this time. Expiry is always exact.",
    )
    api_rate_limit: int | None = Field(
        default=None,
        ge=1,
        le=1_000_000,
        description="Requests per second each token may make to the API (the worker "
        "protocol apart), unless the token sets its own rate_limit; over it, 429 "
        "rate_limited with Retry-After. Counted over every coordinator sharing the Redis, "
        "else per coordinator. Unset: no limit.",
    )
    allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default=[],
        description="Host names (comma-separated, no port) this server answers to besides the "
        "loopback names and a specific bind address; `*.example.com` for subdomains, `*` for "
        "any. Other Host headers are refused (DNS rebinding). Required with --host 0.0.0.0.",
    )
    allowed_origins: Annotated[list[str], NoDecode] = Field(
        default=[],
        description="Origins (comma-separated, `https://ops.example.com`) besides the server's "
        "own that may send writes: e.g. the public origin of a proxy that rewrites Host.",
    )
    log_json: bool = False
    public_url: str = Field(
        default="http://127.0.0.1:8000",
        description="The dashboard's address as people reach it: alerts link to "
        "<public_url>/runs/<id>.",
    )
    smtp_host: str | None = Field(default=None, description="SMTP server of email alerts.")
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = Field(
        default=None, description="Never logged nor shown (a secret)."
    )
    smtp_from: str = Field(default="tickwork@localhost", description="Sender of email alerts.")
    smtp_starttls: bool = Field(default=True, description="Upgrade the SMTP connection to TLS.")
    smtp_timeout: float = Field(default=30.0, gt=0, le=600)
    alert_interval: float = Field(
        default=1.0, gt=0, description="Seconds between the leader's alert passes."
    )
    alert_timeout: float = Field(
        default=10.0, gt=0, le=120, description="Seconds one delivery (HTTP or SMTP) may take."
    )
    alert_max_attempts: int = Field(
        default=8, ge=1, le=100, description="Tries of one alert before it is marked failed."
    )
    alert_rate_limit: int = Field(
        default=10,
        ge=1,
        le=10_000,
        description="Alerts one rule sends to one channel per alert_rate_window; the rest wait "
        "and go as one digest.",
    )
    alert_rate_window: float = Field(default=300.0, gt=0, le=86400)
    alert_backlog_threshold: int | None = Field(
        default=None,
        ge=1,
        description="queue.backlog when a namespace has more queued runs than this (unset: never).",
    )
    watch_interval: float = Field(
        default=30.0, gt=0, description="Seconds between the leader's SLA and silence checks."
    )

    @field_validator("allowed_hosts", "allowed_origins", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            value = value.split(",")
        if isinstance(value, list | tuple):
            return [str(v).strip().lower().rstrip("/") for v in value if str(v).strip()]
        return value

    @field_validator("allowed_origins")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        for origin in value:
            parts = urlsplit(origin)
            if parts.scheme not in ("http", "https") or not parts.netloc or parts.path:
                raise ValueError(f"{origin!r} is not an origin like https://ops.example.com")
        return value

    def bind_problem(self) -> str | None:
        """Why a server with these settings must not start, or None."""
        if self.host.strip() in WILDCARD_BINDS and not self.allowed_hosts:
            return (
                f"listening on {self.host or 'every address'} needs TICKWORK_ALLOWED_HOSTS: the "
                "names workers and browsers use to reach this server (e.g. "
                "TICKWORK_ALLOWED_HOSTS=tickwork.example.com), or * to answer to any Host"
            )
        return None

    @model_validator(mode="after")
    def _leases_can_work(self) -> Settings:
        """Refuse settings under which a healthy worker would lose its runs (the error names
        the settings and the rule they break)."""
        self.lease_timing()
        return self

    def lease_timing(self) -> leases.LeaseTiming:
        """Heartbeat interval, long-poll and watchdog timing for these settings."""
        return leases.lease_timing(
            lease=self.lease_seconds,
            lost_after=self.worker_lost_after,
            interval=self.heartbeat_interval,
            ack_timeout=self.ack_timeout,
        )

    @property
    def is_postgres(self) -> bool:
        return self.database_url.startswith(("postgresql", "postgres"))
