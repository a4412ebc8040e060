"""The SQL store: one class, PostgreSQL or SQLite by URL, one use case per method."""

from __future__ import annotations

from tickwork.store.jobs_sql import JobStore
from tickwork.store.schedule_sql import ScheduleStore
from tickwork.store.tokens_sql import TokenStore


class SqlStore(ScheduleStore, JobStore, TokenStore):
    """Composes the store's parts; every write is one conditional transaction."""
