"""Every status each operation can answer, written into the OpenAPI document by kind.

Statuses that follow from what an operation is are added here, not route by route, so a new
route is documented as soon as it exists: 422 everywhere (every parameter and header is
checked), 503 everywhere (every operation reads the database), 413 under /api (the body cap)
and 415 for writes (JSON only), 400 where there is a JSON body, 404 where the path names
something, 401/403 where a permission applies. What only the operation knows (a conflict, a
reference in a query) is in ``SPECIFIC``, keyed by operation id like the permission table.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from tickwork.api.auth import OPEN, PERMISSIONS
from tickwork.schemas.errors import ErrorOut
from tickwork.schemas.jobs import JobPatch

WRITES = frozenset({"post", "put", "patch", "delete"})

COMMON = {
    400: "The body is not valid JSON.",
    401: "No token, or an unknown, expired or revoked one (when auth is on).",
    403: "The token's role may not call this operation.",
    404: "What the path names does not exist.",
    413: "The request body is over the size limit (max_body_bytes).",
    415: "A write whose Content-Type is not application/json (a PATCH may also be "
    "application/merge-patch+json).",
    422: "Invalid input: ``details`` names each field at fault and why.",
    429: "rate_limited: the token is over its requests per second; retry after "
    "``Retry-After`` seconds.",
    503: "The database is unavailable for now; retry after ``Retry-After`` seconds.",
}

SPECIFIC: dict[str, dict[int, str]] = {
    "jobs-replace": {
        409: "The name is taken, depends_on would make a cycle, or the job is a pipeline's "
        "task (change it through the pipeline)."
    },
    "jobs-patch": {
        409: "The name is taken, depends_on would make a cycle, or the job is a pipeline's "
        "task (change it through the pipeline)."
    },
    "jobs-delete": {409: "Other jobs depend on it (pass force=true), or it is a pipeline's task."},
    "jobs-pause": {409: "The job is a pipeline's task (pause the pipeline)."},
    "jobs-resume": {409: "The job is a pipeline's task (resume the pipeline)."},
    "pipelines-create": {
        409: "A pipeline of that name exists in the namespace.",
        429: "quota_exceeded: the namespace is at its max_jobs quota (each task is a job); "
        "or the token's request rate.",
    },
    "pipelines-replace": {
        409: "A pipeline run is active and the change removes tasks (pass force=true)."
    },
    "pipelines-delete": {409: "A pipeline run is active (pass force=true to cancel it)."},
    "pipelines-trigger": {
        429: "quota_exceeded: the namespace is at its max_queued or runs_per_hour quota; or "
        "the token's request rate.",
    },
    "pipeline-runs-cancel": {409: "The pipeline run has ended."},
    "pipeline-runs-retry": {409: "The pipeline run is not failed or cancelled."},
    "calendars-create": {409: "A calendar of that name exists in the namespace."},
    "calendars-delete": {
        409: "Jobs or pipelines name the calendar (``details.jobs`` and ``details.pipelines`` "
        "list them)."
    },
    "runs-list": {404: "The job named by ``job`` does not exist."},
    "events-list": {404: "The job named by ``job`` does not exist."},
    "runs-cancel": {409: "The run is not queued or running."},
    "runs-retry": {409: "The run is not failed, cancelled or missed (or changed meanwhile)."},
    "dead-letters-replay": {409: "The run cannot be queued again, or the entry is resolved."},
    "dead-letters-resolve": {409: "The entry is already resolved."},
    "runs-start": {409: "stale_fence: the run moved on; stop it."},
    "runs-append-logs": {409: "stale_fence: the run moved on; stop it."},
    "runs-complete": {409: "stale_fence: the run moved on; stop it."},
    "auth-whoami": {401: "No valid token was sent (when auth is on)."},
    "jobs-create": {
        409: "The name is taken, or depends_on would make a cycle.",
        429: "quota_exceeded: the namespace is at its max_jobs quota (details: namespace, "
        "quota, limit, used); or the token's request rate (rate_limited).",
    },
    "jobs-trigger": {
        429: "quota_exceeded: the namespace is at its max_queued or runs_per_hour quota "
        "(details: namespace, quota, limit, used); or the token's request rate.",
    },
    "runs-bulk": {
        404: "A job was deleted while its runs were being queued.",
        429: "quota_exceeded: the runs would pass a quota of their namespace (nothing is "
        "queued); or the token's request rate.",
    },
}

ERROR_REF = {"$ref": "#/components/schemas/ErrorOut"}
JOB_PATCH_REF = "#/components/schemas/JobPatch"
"""The body of PATCH /api/jobs/{ref}, read by the route itself (it has two media types)."""


class TickworkApp(FastAPI):
    """FastAPI whose OpenAPI document lists every error status of every operation."""

    def openapi(self) -> dict[str, Any]:
        if self.openapi_schema is None:
            self.openapi_schema = document(super().openapi())
        return self.openapi_schema


def statuses(path: str, method: str, op: dict[str, Any]) -> dict[int, str]:
    """The error statuses ``op`` can answer, each with why."""
    found = {422: COMMON[422], 503: COMMON[503]}
    if path.startswith("/api/"):
        found[413] = COMMON[413]
        if method in WRITES:
            found[415] = COMMON[415]
    if "requestBody" in op:
        found[400] = COMMON[400]
    if "{" in path:
        found[404] = COMMON[404]
    if PERMISSIONS.get(op.get("operationId", ""), "admin") != OPEN:
        found[401], found[403] = COMMON[401], COMMON[403]
        found[429] = COMMON[429]
    found.update(SPECIFIC.get(op.get("operationId", ""), {}))
    return found


def document(doc: dict[str, Any]) -> dict[str, Any]:
    """Add the error answers to every operation of ``doc`` (and the error schema)."""
    for path, item in doc.get("paths", {}).items():
        for method, op in item.items():
            answers = op.setdefault("responses", {})
            for status, why in sorted(statuses(path, method, op).items()):
                if str(status) in answers and status != 422:  # an operation's own wins
                    continue
                answers[str(status)] = _error_answer(status, why)
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):  # FastAPI's 422 shape, not ours
        schemas.pop(unused, None)
    error = ErrorOut.model_json_schema(
        ref_template="#/components/schemas/{model}", mode="serialization"
    )
    schemas.update(error.pop("$defs", {}))
    schemas["ErrorOut"] = error
    patch = JobPatch.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, shared in patch.pop("$defs", {}).items():  # JobIn's, already there
        schemas.setdefault(name, shared)
    schemas["JobPatch"] = patch
    return doc


def _error_answer(status: int, why: str) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "description": why,
        "content": {"application/json": {"schema": ERROR_REF}},
    }
    if status in (429, 503):
        answer["headers"] = {
            "Retry-After": {
                "description": "Seconds to wait before trying again.",
                "required": True,
                "schema": {"type": "integer", "minimum": 1},
            }
        }
    return answer
