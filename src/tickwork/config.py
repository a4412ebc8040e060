"""Settings from the environment (prefix ``TICKWORK_``); nothing is built at import time."""

from __future__ import annotations

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from tickwork.domain import leases


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
    max_body_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)
    max_output_bytes: int = Field(default=1024 * 1024, ge=1024, description="Kept per attempt.")
    max_page_size: int = Field(default=500, ge=1)
    claim_wait: float = Field(default=20.0, ge=0, description="Longest claim long-poll.")
    dashboard: bool = Field(default=True, description="Serve the built dashboard at /.")
    auth: bool = Field(default=False, description="Require API tokens.")
    log_json: bool = False

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
