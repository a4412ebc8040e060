"""``AsyncClient``: every operator call of the tickwork API as a typed coroutine.

One async implementation; ``tickwork.Client`` (``client/sync.py``) runs these same methods on a
private event loop thread. Answers are the pydantic models of ``tickwork.schemas``, the same
ones the API declares; error answers raise the ``ApiError`` subclass for their status (see
``client/errors.py``).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, TypeAdapter

from tickwork.client.follow import follow_events
from tickwork.client.http import (
    ApiTransport,
    Params,
    RetryPolicy,
    TransportOwner,
    typed_error_from_response,
)
from tickwork.domain.patches import MERGE_PATCH
from tickwork.schemas.admin import AuditOut, PruneOut, TokenCreated, TokenOut
from tickwork.schemas.alerts import (
    AlertList,
    ChannelList,
    ChannelOut,
    ChannelTestOut,
    RuleList,
    RuleOut,
)
from tickwork.schemas.calendars import (
    CalendarChangedOut,
    CalendarDetailOut,
    CalendarIn,
    CalendarList,
    CalendarOut,
)
from tickwork.schemas.jobs import (
    DagOut,
    JobDetailOut,
    JobIn,
    JobList,
    JobOut,
    PreviewOut,
    TriggerOut,
)
from tickwork.schemas.pipelines import (
    PipelineIn,
    PipelineList,
    PipelineOut,
    PipelineRunList,
    PipelineRunOut,
    PipelineTriggerOut,
)
from tickwork.schemas.runs import (
    BulkOut,
    BulkRunIn,
    DeadLetterList,
    DeadLetterOut,
    EventOut,
    LogsOut,
    RunDetail,
    RunList,
    RunOut,
)
from tickwork.schemas.system import HealthOut, StatsOut, WhoAmI
from tickwork.schemas.workers import WorkerOut

__all__ = [
    "DEFAULT_NAMESPACE",
    "DEFAULT_SERVER",
    "AsyncClient",
    "default_namespace",
    "default_server",
    "default_token",
]

DEFAULT_SERVER = "http://127.0.0.1:8000"
DEFAULT_NAMESPACE = "default"

M = TypeVar("M", bound=BaseModel)
JobLike = JobIn | Mapping[str, Any]
CalendarLike = CalendarIn | Mapping[str, Any]
PipelineLike = PipelineIn | Mapping[str, Any]

_WORKERS = TypeAdapter(list[WorkerOut])
_TOKENS = TypeAdapter(list[TokenOut])
_AUDIT = TypeAdapter(list[AuditOut])
_EVENTS = TypeAdapter(list[EventOut])


def default_server() -> str:
    """``TICKWORK_SERVER``, else http://127.0.0.1:8000."""
    return os.environ.get("TICKWORK_SERVER") or DEFAULT_SERVER


def default_token() -> str | None:
    """``TICKWORK_TOKEN``, else no token."""
    return os.environ.get("TICKWORK_TOKEN") or None


def default_namespace() -> str:
    """``TICKWORK_NAMESPACE``, else ``default``."""
    return os.environ.get("TICKWORK_NAMESPACE") or DEFAULT_NAMESPACE


class AsyncClient(TransportOwner):
    """The tickwork API over HTTP (and the WebSocket for ``follow_run``).

    ``url`` defaults to ``TICKWORK_SERVER`` (else http://127.0.0.1:8000) and ``token`` to
    ``TICKWORK_TOKEN``; pass ``token=""`` to send none. ``namespace`` (default
    ``TICKWORK_NAMESPACE``, else ``default``) is where jobs are looked up by name and created,
    and what lists show (a job body naming its own namespace wins). Use it as ``async with`` or call
    ``aclose()``. Reads are retried on transport errors; writes only when the request never
    left (see ``ApiTransport``).
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
        self.url = (url or default_server()).rstrip("/")
        self.namespace = namespace or default_namespace()
        self.token = default_token() if token is None else (token or None)
        self._http = ApiTransport(
            self.url,
            token=self.token,
            timeout=timeout,
            retry=retry,
            transport=transport,
            errors=typed_error_from_response,
        )

    # --- jobs -----------------------------------------------------------------------
    async def create_job(self, job: JobLike) -> JobOut:
        """Create a job from a ``JobIn`` or a dict of its fields (checked by the server)."""
        body = _job_json(job)
        return await self._call(
            JobOut, "POST", "/api/jobs", json=body, namespace=body.get("namespace")
        )

    async def get_job(self, ref: str) -> JobDetailOut:
        """A job by name or id, with stats, its last 20 runs and its dependents."""
        return await self._call(JobDetailOut, "GET", _path("jobs", ref))

    async def list_jobs(
        self,
        *,
        tag: str | None = None,
        status: str | None = None,
        schedule_type: str | None = None,
        q: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> JobList:
        """One page of jobs by name; pass ``next_cursor`` back as ``cursor`` for the next."""
        params = {"tag": tag, "status": status, "schedule_type": schedule_type, "q": q}
        return await self._call(
            JobList, "GET", "/api/jobs", params={**params, "limit": limit, "cursor": cursor}
        )

    async def iter_jobs(
        self,
        *,
        tag: str | None = None,
        status: str | None = None,
        schedule_type: str | None = None,
        q: str | None = None,
        page_size: int = 200,
    ) -> AsyncIterator[JobOut]:
        """Every job matching the filters, fetching ``page_size`` at a time."""
        cursor: str | None = None
        while True:
            page = await self.list_jobs(
                tag=tag,
                status=status,
                schedule_type=schedule_type,
                q=q,
                limit=page_size,
                cursor=cursor,
            )
            for job in page.jobs:
                yield job
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    async def replace_job(self, ref: str, job: JobLike) -> JobOut:
        """Replace a job's whole definition (fields left out take their defaults)."""
        body = _job_json(job)
        return await self._call(
            JobOut, "PUT", _path("jobs", ref), json=body, namespace=body.get("namespace")
        )

    async def patch_job(self, ref: str, changes: Mapping[str, Any]) -> JobOut:
        """Change some of a job's fields (a JSON Merge Patch, RFC 7396): fields left out
        keep their values, ``None`` resets one to its default, a dict merges into the one
        there (``parameters``)."""
        response = await self._http.request(
            "PATCH",
            _path("jobs", ref),
            json=dict(changes),
            params={"namespace": self.namespace},
            headers={"Content-Type": MERGE_PATCH},
        )
        return JobOut.model_validate_json(response.content)

    async def delete_job(self, ref: str, *, force: bool = False) -> None:
        """Delete a job and its runs; ``force`` also removes it from its dependents."""
        params: Params = {"force": force or None, "namespace": self.namespace}
        await self._http.request("DELETE", _path("jobs", ref), params=params)

    async def trigger(
        self,
        ref: str,
        parameters: Mapping[str, Any] | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> TriggerOut:
        """Queue a run now; ``parameters`` are merged over the job's. The same
        ``idempotency_key`` returns the same run."""
        body: dict[str, Any] = {"parameters": dict(parameters or {})}
        if idempotency_key is not None:
            body["idempotency_key"] = idempotency_key
        return await self._call(TriggerOut, "POST", _path("jobs", ref, "trigger"), json=body)

    async def pause_job(self, ref: str) -> JobOut:
        return await self._call(JobOut, "POST", _path("jobs", ref, "pause"))

    async def resume_job(self, ref: str) -> JobOut:
        return await self._call(JobOut, "POST", _path("jobs", ref, "resume"))

    async def job_runs(self, ref: str, *, limit: int = 50, cursor: str | None = None) -> RunList:
        """A job's runs, newest first."""
        params: Params = {"limit": limit, "cursor": cursor}
        return await self._call(RunList, "GET", _path("jobs", ref, "runs"), params=params)

    async def dag(self) -> DagOut:
        """The jobs of the client's namespace that have or are a dependency, and the edges
        upstream → dependent."""
        return await self._call(DagOut, "GET", "/api/dag")

    async def preview_schedule(
        self,
        schedule: str,
        *,
        timezone: str = "UTC",
        n: int = 10,
        calendar: str | None = None,
        calendar_policy: str = "skip",
    ) -> PreviewOut:
        """The next ``n`` fire times of a schedule expression (422 if it is not one); under
        ``calendar`` (of the client's namespace), with the closed days' ticks in ``ticks``."""
        params: Params = {"schedule": schedule, "timezone": timezone, "n": n}
        if calendar is not None:
            params = {**params, "calendar": calendar, "calendar_policy": calendar_policy}
        return await self._call(PreviewOut, "GET", "/api/schedules/preview", params=params)

    # --- calendars ------------------------------------------------------------------
    async def create_calendar(self, calendar: CalendarLike) -> CalendarOut:
        """Create a business calendar from a ``CalendarIn`` or a dict of its fields."""
        body = _model_json(calendar)
        return await self._call(
            CalendarOut, "POST", "/api/calendars", json=body, namespace=body.get("namespace")
        )

    async def list_calendars(self) -> list[CalendarOut]:
        """The calendars of the client's namespace."""
        return (await self._call(CalendarList, "GET", "/api/calendars")).calendars

    async def get_calendar(self, name: str, *, days: int = 30) -> CalendarDetailOut:
        """A calendar, the jobs naming it and its next ``days`` days (business or not, why)."""
        path = _path("calendars", name)
        return await self._call(CalendarDetailOut, "GET", path, params={"days": days})

    async def replace_calendar(self, name: str, calendar: CalendarLike) -> CalendarChangedOut:
        """Replace a calendar; the next_run of the jobs naming it is recomputed."""
        body = _model_json(calendar)
        path = _path("calendars", name)
        return await self._call(
            CalendarChangedOut, "PUT", path, json=body, namespace=body.get("namespace")
        )

    async def delete_calendar(self, name: str) -> None:
        """Delete a calendar (409 while jobs name it)."""
        params: Params = {"namespace": self.namespace}
        await self._http.request("DELETE", _path("calendars", name), params=params)

    # --- pipelines --------------------------------------------------------------------
    async def create_pipeline(self, pipeline: PipelineLike) -> PipelineOut:
        """Create a pipeline (its tasks become jobs ``<pipeline>.<task>``) from a
        ``PipelineIn`` or a dict of its fields."""
        body = _model_json(pipeline)
        return await self._call(
            PipelineOut, "POST", "/api/pipelines", json=body, namespace=body.get("namespace")
        )

    async def list_pipelines(
        self, *, q: str | None = None, limit: int = 50, cursor: str | None = None
    ) -> PipelineList:
        """One page of the pipelines of the client's namespace, each with its latest run."""
        params: Params = {"q": q, "limit": limit, "cursor": cursor}
        return await self._call(PipelineList, "GET", "/api/pipelines", params=params)

    async def get_pipeline(self, ref: str) -> PipelineOut:
        return await self._call(PipelineOut, "GET", _path("pipelines", ref))

    async def replace_pipeline(
        self, ref: str, pipeline: PipelineLike, *, force: bool = False
    ) -> PipelineOut:
        """Replace a pipeline's definition (tasks added, changed, removed at once);
        ``force`` cancels an active run that removing a task would otherwise wait for."""
        body = _model_json(pipeline)
        return await self._call(
            PipelineOut,
            "PUT",
            _path("pipelines", ref),
            json=body,
            params={"force": force or None},
            namespace=body.get("namespace"),
        )

    async def delete_pipeline(self, ref: str, *, force: bool = False) -> None:
        """Delete a pipeline with its task jobs and runs (409 while a run is active, unless
        ``force``, which cancels it)."""
        params: Params = {"force": force or None, "namespace": self.namespace}
        await self._http.request("DELETE", _path("pipelines", ref), params=params)

    async def pause_pipeline(self, ref: str) -> PipelineOut:
        return await self._call(PipelineOut, "POST", _path("pipelines", ref, "pause"))

    async def resume_pipeline(self, ref: str) -> PipelineOut:
        return await self._call(PipelineOut, "POST", _path("pipelines", ref, "resume"))

    async def trigger_pipeline(
        self,
        ref: str,
        parameters: Mapping[str, Mapping[str, Any]] | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> PipelineTriggerOut:
        """A pipeline run now; ``parameters`` per task name. The same ``idempotency_key``
        returns the same pipeline run."""
        body: dict[str, Any] = {"parameters": {k: dict(v) for k, v in (parameters or {}).items()}}
        if idempotency_key is not None:
            body["idempotency_key"] = idempotency_key
        path = _path("pipelines", ref, "trigger")
        return await self._call(PipelineTriggerOut, "POST", path, json=body)

    async def pipeline_runs(
        self, ref: str, *, status: str | None = None, limit: int = 50, cursor: str | None = None
    ) -> PipelineRunList:
        """A pipeline's runs, newest first."""
        params: Params = {"status": status, "limit": limit, "cursor": cursor}
        path = _path("pipelines", ref, "runs")
        return await self._call(PipelineRunList, "GET", path, params=params)

    async def get_pipeline_run(self, run_id: str) -> PipelineRunOut:
        return await self._call(PipelineRunOut, "GET", _path("pipeline-runs", run_id))

    async def cancel_pipeline_run(self, run_id: str) -> PipelineRunOut:
        """Cancel a pipeline run: its queued and running tasks stop, the rest are skipped."""
        path = _path("pipeline-runs", run_id, "cancel")
        return await self._call(PipelineRunOut, "POST", path)

    async def retry_pipeline_run(self, run_id: str) -> PipelineRunOut:
        """Run a failed or cancelled pipeline run again from its failed tasks."""
        path = _path("pipeline-runs", run_id, "retry")
        return await self._call(PipelineRunOut, "POST", path)

    # --- runs -----------------------------------------------------------------------
    async def list_runs(
        self,
        *,
        status: str | None = None,
        job: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> RunList:
        """One page of runs, newest first (``since``/``until`` need a time zone)."""
        params = {"status": status, "job": job, "since": _iso(since), "until": _iso(until)}
        return await self._call(
            RunList, "GET", "/api/runs", params={**params, "limit": limit, "cursor": cursor}
        )

    async def iter_runs(
        self,
        *,
        status: str | None = None,
        job: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        page_size: int = 200,
    ) -> AsyncIterator[RunOut]:
        """Every run matching the filters, newest first."""
        cursor: str | None = None
        while True:
            page = await self.list_runs(
                status=status, job=job, since=since, until=until, limit=page_size, cursor=cursor
            )
            for run in page.runs:
                yield run
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    async def get_run(self, run_id: str) -> RunDetail:
        """A run with every attempt and the latest attempt's output."""
        return await self._call(RunDetail, "GET", _path("runs", run_id))

    async def run_logs(self, run_id: str, *, attempt: int | None = None) -> LogsOut:
        """stdout/stderr of the latest (or the given) attempt."""
        params: Params = {"attempt": attempt}
        return await self._call(LogsOut, "GET", _path("runs", run_id, "logs"), params=params)

    async def cancel_run(self, run_id: str) -> RunOut:
        return await self._call(RunOut, "POST", _path("runs", run_id, "cancel"))

    async def retry_run(self, run_id: str) -> RunOut:
        return await self._call(RunOut, "POST", _path("runs", run_id, "retry"))

    async def bulk_trigger(self, runs: Sequence[BulkRunIn | Mapping[str, Any]]) -> BulkOut:
        """Queue many runs in one transaction: items ``{"job", "parameters",
        "idempotency_key"}``."""
        items = [BulkRunIn.model_validate(r).model_dump(mode="json") for r in runs]
        return await self._call(BulkOut, "POST", "/api/runs/bulk", json={"runs": items})

    async def list_events(
        self,
        *,
        job: str | None = None,
        run: str | None = None,
        types: list[str] | None = None,
        before: int | None = None,
        limit: int = 100,
    ) -> list[EventOut]:
        """Stored events, newest first: skipped and missed ticks with their reasons, run and
        job changes (``types`` e.g. ``["run.skipped"]``; ``before`` an event id)."""
        params: Params = {"job": job, "run": run, "type": types, "before": before, "limit": limit}
        params = {**params, "namespace": self.namespace}
        response = await self._http.request("GET", "/api/events", params=params, idempotent=True)
        return _EVENTS.validate_json(response.content)

    async def follow_run(self, run_id: str, *, since: int = 0) -> AsyncIterator[EventOut]:
        """The run's events as they happen (``run.log`` chunks, state changes) from event id
        ``since``, ending after the event that finishes it."""
        async for event in follow_events(self, run_id, since=since):
            yield event

    # --- workers, dead letters, system ------------------------------------------------
    async def list_workers(self) -> list[WorkerOut]:
        response = await self._http.request("GET", "/api/workers", idempotent=True)
        return _WORKERS.validate_json(response.content)

    async def list_dead_letters(
        self, *, resolved: bool | None = False, limit: int = 50, offset: int = 0
    ) -> DeadLetterList:
        """Dead letters (unresolved by default; ``resolved=None`` for all)."""
        params: Params = {"resolved": resolved, "limit": limit, "offset": offset}
        return await self._call(DeadLetterList, "GET", "/api/dead-letters", params=params)

    async def replay_dead_letter(self, dead_letter_id: str) -> RunOut:
        """Queue the failed run again (same run id and key) and resolve the entry."""
        return await self._call(RunOut, "POST", _path("dead-letters", dead_letter_id, "replay"))

    async def resolve_dead_letter(
        self, dead_letter_id: str, *, note: str | None = None
    ) -> DeadLetterOut:
        """Mark the entry handled without running it again, with an optional ``note``."""
        path = _path("dead-letters", dead_letter_id, "resolve")
        body = {"note": note} if note is not None else None
        return await self._call(DeadLetterOut, "POST", path, json=body)

    async def stats(self) -> StatsOut:
        return await self._call(StatsOut, "GET", "/api/stats")

    async def health(self) -> HealthOut:
        """The coordinator's health; a degraded one (503) is returned, not raised."""
        response = await self._http.request(
            "GET", "/api/health", idempotent=True, allow=frozenset({503})
        )
        return HealthOut.model_validate_json(response.content)

    async def metrics(self) -> str:
        """``GET /metrics``: the coordinator's Prometheus text."""
        response = await self._http.request("GET", "/metrics", idempotent=True)
        return response.text

    async def whoami(self) -> WhoAmI:
        return await self._call(WhoAmI, "GET", "/api/auth/whoami")

    # --- tokens and audit (admin) -----------------------------------------------------
    async def create_token(
        self,
        name: str,
        role: str | None = None,
        *,
        scopes: Mapping[str, str] | None = None,
        worker_tags: Sequence[str] | None = None,
        expires_in_days: float | None = None,
    ) -> TokenCreated:
        """A new API token with one ``role``, or ``scopes`` (a role per namespace, ``*``
        for the rest); its secret is in this answer only."""
        body = {
            "name": name,
            "role": role,
            "scopes": dict(scopes) if scopes is not None else None,
            "worker_tags": list(worker_tags) if worker_tags is not None else None,
            "expires_in_days": expires_in_days,
        }
        return await self._call(TokenCreated, "POST", "/api/tokens", json=body)

    async def list_tokens(self) -> list[TokenOut]:
        response = await self._http.request("GET", "/api/tokens", idempotent=True)
        return _TOKENS.validate_json(response.content)

    async def revoke_token(self, token_id: str) -> None:
        await self._http.request("DELETE", _path("tokens", token_id), idempotent=True)

    async def audit(
        self,
        *,
        limit: int = 100,
        before: int | None = None,
        actor: str | None = None,
        action: str | None = None,
    ) -> list[AuditOut]:
        """Operator and admin changes, newest first."""
        params: Params = {"limit": limit, "before": before, "actor": actor, "action": action}
        response = await self._http.request("GET", "/api/audit", params=params, idempotent=True)
        return _AUDIT.validate_json(response.content)

    async def prune(self, *, dry_run: bool = False) -> PruneOut:
        """Apply the retention policy now (admin); with ``dry_run`` only count what would go."""
        return await self._call(PruneOut, "POST", "/api/prune", json={"dry_run": dry_run})

    # --- alerts ---------------------------------------------------------------------
    async def list_alert_channels(self) -> ChannelList:
        """The namespace's alert channels (urls masked, secrets never shown)."""
        return await self._call(ChannelList, "GET", "/api/alert-channels")

    async def put_alert_channel(self, body: Mapping[str, Any], *, create: bool) -> ChannelOut:
        """Create (``create``) or replace an alert channel; on replace a url or secret left
        out is kept."""
        if create:
            return await self._call(ChannelOut, "POST", "/api/alert-channels", json=dict(body))
        path = _path("alert-channels", str(body["name"]))
        return await self._call(ChannelOut, "PUT", path, json=dict(body))

    async def test_alert_channel(self, name: str) -> ChannelTestOut:
        """Send a test message through a channel now; how the delivery went."""
        path = _path("alert-channels", name, "test")
        return await self._call(ChannelTestOut, "POST", path)

    async def list_alert_rules(self) -> RuleList:
        return await self._call(RuleList, "GET", "/api/alert-rules")

    async def put_alert_rule(self, body: Mapping[str, Any], *, create: bool) -> RuleOut:
        """Create (``create``) or replace an alert rule."""
        if create:
            return await self._call(RuleOut, "POST", "/api/alert-rules", json=dict(body))
        return await self._call(
            RuleOut, "PUT", _path("alert-rules", str(body["name"])), json=dict(body)
        )

    async def list_alerts(
        self,
        *,
        status: str | None = None,
        rule: str | None = None,
        limit: int = 50,
        before: int | None = None,
    ) -> AlertList:
        """Alerts newest first with their delivery attempts; ``before`` the ``next_before``."""
        params: Params = {"status": status, "rule": rule, "limit": limit, "before": before}
        return await self._call(AlertList, "GET", "/api/alerts", params=params)

    # --- plumbing -------------------------------------------------------------------
    async def _call(
        self,
        model: type[M],
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Params | None = None,
        namespace: str | None = None,
    ) -> M:
        """One call, in the client's namespace (or ``namespace``): routes that find a job by
        name look it up there, lists keep to it, and others ignore it."""
        query: Params = {**(params or {}), "namespace": namespace or self.namespace}
        response = await self._http.request(
            method, path, json=json, params=query, idempotent=method in ("GET", "PUT")
        )
        return model.model_validate_json(response.content)


def _path(resource: str, ref: str, action: str | None = None) -> str:
    path = f"/api/{resource}/{quote(ref, safe='')}"
    return f"{path}/{action}" if action else path


def _job_json(job: JobLike) -> dict[str, Any]:
    return _model_json(job)


def _model_json(value: JobIn | CalendarIn | PipelineIn | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(value, JobIn | CalendarIn | PipelineIn):
        return value.model_dump(mode="json", exclude_unset=True)
    return dict(value)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
