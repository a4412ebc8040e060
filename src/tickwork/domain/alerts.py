"""Alerts: channels (where to send), rules (what to send), and the pure decisions of the
leader's alert pass — which events raise which alerts, once each (a dedupe key), when a
failed delivery is tried again, and when a rule has sent enough for now (a digest follows).

The service (service/alerts.py) follows the event outbox and delivers; the store keeps the
alerts as an outbox of their own (store/alerts_sql.py). Nothing here does I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal
from urllib.parse import urlsplit

from tickwork.domain.errors import ValidationError
from tickwork.domain.jobs import NAME_RE, TAG_RE
from tickwork.domain.namespaces import DEFAULT_NAMESPACE
from tickwork.domain.runs import Event
from tickwork.domain.secrets import NAME_RE as SECRET_NAME_RE
from tickwork.domain.secrets import SECRET_KEY, is_reference

ChannelType = Literal["webhook", "slack", "email"]
CHANNEL_TYPES: tuple[str, ...] = ("webhook", "slack", "email")

RUN_FAILED = "run.failed"
RUN_DEAD_LETTERED = "run.dead_lettered"
RUN_MISSED = "run.missed"
RUN_RETRYING = "run.retrying"
SLA_BREACHED = "sla.breached"
JOB_SILENT = "job.silent"
WORKER_LOST = "worker.lost"
QUEUE_BACKLOG = "queue.backlog"
ALERT_EVENTS: tuple[str, ...] = (
    RUN_FAILED,
    RUN_DEAD_LETTERED,
    RUN_MISSED,
    RUN_RETRYING,
    SLA_BREACHED,
    JOB_SILENT,
    WORKER_LOST,
    QUEUE_BACKLOG,
)
SYSTEM_EVENTS = frozenset({WORKER_LOST})
"""Events of no job and no namespace: every rule that lists them receives them."""

AlertStatus = Literal["pending", "sent", "failed", "held", "digested"]
ALERT_STATUSES: tuple[str, ...] = ("pending", "sent", "failed", "held", "digested")
"""pending: to be sent (again at next_attempt_at); sent; failed: gave up after the last try;
held: over its rule's rate limit, waits for the digest; digested: sent within a digest."""

EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}$")
MAX_RECIPIENTS = 20


@dataclass(frozen=True, slots=True)
class Channel:
    """Where alerts go. ``url`` and ``secret`` are secrets: a value, or a ``{"$secret":
    NAME}`` reference to the coordinator's environment; the API never shows a value."""

    name: str
    type: ChannelType
    namespace: str = DEFAULT_NAMESPACE
    url: str | Mapping[str, str] | None = None
    secret: str | Mapping[str, str] | None = None
    to: tuple[str, ...] = ()

    @property
    def has_secret(self) -> bool:
        return self.secret is not None


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    events: tuple[str, ...]
    jobs: tuple[str, ...] = ("*",)
    channels: tuple[str, ...] = ()
    namespace: str = DEFAULT_NAMESPACE

    def matches(self, job: JobInfo | None) -> bool:
        """Whether the rule covers this job (``*``, its name, or ``tag:x`` of one of its
        tags); an event of no job (a lost worker) only a ``*`` rule covers."""
        if job is None:
            return "*" in self.jobs
        if job.namespace != self.namespace:
            return False
        return any(
            p == "*" or p == job.name or (p.startswith("tag:") and p[4:] in job.tags)
            for p in self.jobs
        )


@dataclass(frozen=True, slots=True)
class JobInfo:
    """What a rule looks at of a job."""

    id: str
    name: str
    namespace: str
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class NewAlert:
    """One alert to deliver: to one channel, for one rule, once per ``subject``."""

    namespace: str
    rule: str
    channel: str
    kind: str
    subject: str
    job_id: str | None
    run_id: str | None
    payload: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Alert:
    id: int
    namespace: str
    rule: str
    channel: str
    kind: str
    subject: str
    job_id: str | None
    run_id: str | None
    payload: Mapping[str, Any]
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None
    history: tuple[Mapping[str, Any], ...] = ()


# --- validation ------------------------------------------------------------------------


def _check_name(field_name: str, name: str) -> None:
    if not NAME_RE.match(name):
        raise ValidationError(field_name, f"'{name}' is not a name (1 to 200 of A-Z a-z 0-9 . _ -)")


def _check_secretish(field_name: str, value: Any) -> None:
    if is_reference(value):
        if not SECRET_NAME_RE.match(value[SECRET_KEY]):
            raise ValidationError(field_name, f"'{value[SECRET_KEY]}' is not a secret name")
        return
    if not isinstance(value, str) or not value:
        raise ValidationError(field_name, 'must be a string or {"$secret": "NAME"}')


def check_channel(ch: Channel) -> Channel:
    """The channel, or ValidationError naming the field at fault."""
    _check_name("name", ch.name)
    if ch.type not in CHANNEL_TYPES:
        raise ValidationError("type", f"must be one of {', '.join(CHANNEL_TYPES)}")
    if ch.secret is not None:
        if ch.type != "webhook":
            raise ValidationError("secret", "only a webhook channel signs its requests")
        _check_secretish("secret", ch.secret)
    if ch.type == "email":
        _check_email(ch)
    else:
        _check_hook(ch)
    return ch


def _check_hook(ch: Channel) -> None:
    if ch.url is None:
        raise ValidationError("url", f"a {ch.type} channel needs a url")
    _check_secretish("url", ch.url)
    if isinstance(ch.url, str):
        parts = urlsplit(ch.url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValidationError("url", "must be an absolute http:// or https:// URL")
    if ch.to:
        raise ValidationError("to", f"a {ch.type} channel sends to its url, not to addresses")


def _check_email(ch: Channel) -> None:
    if ch.url is not None:
        raise ValidationError("url", "an email channel sends to its 'to' addresses")
    if not ch.to:
        raise ValidationError("to", "an email channel needs at least one address")
    if len(ch.to) > MAX_RECIPIENTS:
        raise ValidationError("to", f"at most {MAX_RECIPIENTS} addresses")
    for i, address in enumerate(ch.to):
        if not EMAIL_RE.match(address):
            raise ValidationError(f"to.{i}", f"'{address}' is not an email address")


def check_rule(rule: Rule, channels: Iterable[str]) -> Rule:
    """The rule, or ValidationError naming the field (an unknown event or channel among
    them: ``channels`` are the names of the namespace's channels)."""
    _check_name("name", rule.name)
    if not rule.events:
        raise ValidationError("events", "name at least one event")
    for i, event in enumerate(rule.events):
        if event not in ALERT_EVENTS:
            raise ValidationError(
                f"events.{i}", f"'{event}' is not an alert event ({', '.join(ALERT_EVENTS)})"
            )
    if not rule.jobs:
        raise ValidationError("jobs", 'name at least one job, "tag:x" or "*"')
    for i, pattern in enumerate(rule.jobs):
        ok = pattern == "*" or bool(NAME_RE.match(pattern))
        if pattern.startswith("tag:"):
            ok = bool(TAG_RE.match(pattern[4:]))
        if not ok:
            raise ValidationError(f"jobs.{i}", f"'{pattern}' is not '*', a job name or tag:x")
    if not rule.channels:
        raise ValidationError("channels", "name at least one channel")
    known = set(channels)
    for i, name in enumerate(rule.channels):
        if name not in known:
            raise ValidationError(
                f"channels.{i}", f"no channel '{name}' in namespace '{rule.namespace}'"
            )
    return rule


def masked_url(url: str | Mapping[str, str] | None) -> str | dict[str, str] | None:
    """What the API shows of a channel's URL: the scheme and host only (a webhook's path
    and query often are its credential), or the reference itself."""
    if url is None:
        return None
    if not isinstance(url, str):
        return dict(url)
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}/…"


# --- which events raise which alerts ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class Raised:
    """An alert kind an event raises, with what makes it one alert (its subject)."""

    kind: str
    subject: str


def raised_by(event: Event) -> list[Raised]:
    """The alert kinds an event of the outbox raises. A run that failed with no retries
    left is also dead-lettered (DESIGN §3): both kinds, one alert each per attempt series."""
    data = event.data or {}
    run = event.run_id or ""
    attempt = data.get("attempt")
    per_attempt = f"{run}#{attempt}" if attempt is not None else run
    if event.type == "run.failed":
        return [Raised(RUN_FAILED, per_attempt), Raised(RUN_DEAD_LETTERED, per_attempt)]
    if event.type == "run.retrying":
        return [Raised(RUN_RETRYING, per_attempt)]
    if event.type == "run.missed":
        return [Raised(RUN_MISSED, run)]
    if event.type in (SLA_BREACHED, JOB_SILENT, QUEUE_BACKLOG):
        return [Raised(event.type, str(data.get("subject", run)))]
    if event.type == WORKER_LOST:
        return [Raised(WORKER_LOST, str(data.get("worker", "")))]
    return []


def alerts_for(
    event: Event,
    job: JobInfo | None,
    rules: Sequence[Rule],
    *,
    namespace: str | None = None,
) -> list[NewAlert]:
    """The alerts an event raises under these rules (one per rule, kind and channel).
    ``namespace`` is the event's own when it has no job (a backlog of one namespace)."""
    out: list[NewAlert] = []
    for raised in raised_by(event):
        for rule in rules:
            if raised.kind not in rule.events or not _covers(rule, event, job, namespace):
                continue
            payload = payload_of(event, raised.kind, job)
            out += [
                NewAlert(
                    namespace=rule.namespace,
                    rule=rule.name,
                    channel=channel,
                    kind=raised.kind,
                    subject=raised.subject,
                    job_id=event.job_id,
                    run_id=event.run_id,
                    payload=payload,
                )
                for channel in rule.channels
            ]
    return out


def _covers(rule: Rule, event: Event, job: JobInfo | None, namespace: str | None) -> bool:
    if event.type in SYSTEM_EVENTS:
        return True
    if job is None:
        return namespace == rule.namespace and "*" in rule.jobs
    return rule.matches(job)


def payload_of(event: Event, kind: str, job: JobInfo | None) -> dict[str, Any]:
    """What an alert says, kept with it (a job renamed or deleted later does not change it)."""
    data = dict(event.data or {})
    keep = ("attempt", "error_summary", "exit_code", "duration", "reason", "worker")
    out: dict[str, Any] = {k: data[k] for k in keep if data.get(k) is not None}
    out.update({k: v for k, v in data.items() if k in ("sla", "limit", "queued", "since")})
    out["event"] = kind
    out["event_id"] = event.id
    out["at"] = event.created_at.isoformat()
    if job is not None:
        out["job"] = job.name
        out["namespace"] = job.namespace
    if event.run_id:
        out["run_id"] = event.run_id
    return out


# --- delivery ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    """Tries of one alert and the rate limit of a rule."""

    max_attempts: int = 8
    first_delay: float = 5.0
    max_delay: float = 900.0
    rate_limit: int = 10
    """Alerts a rule sends per ``rate_window`` (per channel) before the rest wait for a digest."""
    rate_window: float = 300.0

    def retry_at(self, attempts: int, now: datetime) -> datetime | None:
        """When to try again after ``attempts`` failed tries (None: give up)."""
        if attempts >= self.max_attempts:
            return None
        delay = min(self.first_delay * 2 ** (attempts - 1), self.max_delay)
        return now + timedelta(seconds=delay)

    def window_start(self, now: datetime) -> datetime:
        return now - timedelta(seconds=self.rate_window)


def room_in_window(sent_recently: int, policy: DeliveryPolicy) -> int:
    """How many more alerts a rule's channel may send now."""
    return max(policy.rate_limit - sent_recently, 0)


def run_link(public_url: str, run_id: str | None) -> str | None:
    if not run_id:
        return None
    return f"{public_url.rstrip('/')}/runs/{run_id}"


def summary_line(payload: Mapping[str, Any]) -> str:
    """One line saying what happened: ``run.failed: nightly-payroll (attempt 3): boom``."""
    kind = str(payload.get("event", "alert"))
    who = payload.get("job") or payload.get("worker") or payload.get("namespace") or ""
    extra = payload.get("error_summary") or payload.get("reason") or ""
    if payload.get("attempt") is not None:
        who = f"{who} (attempt {payload['attempt']})"
    line = f"{kind}: {who}".rstrip(": ")
    return f"{line}: {extra}" if extra else line


def digest_payload(rule: str, alerts: Sequence[Alert]) -> dict[str, Any]:
    """One message standing for alerts held back by the rate limit."""
    kinds: dict[str, int] = {}
    for a in alerts:
        kinds[a.kind] = kinds.get(a.kind, 0) + 1
    return {
        "event": "digest",
        "rule": rule,
        "count": len(alerts),
        "kinds": kinds,
        "alerts": [
            {"id": a.id, "event": a.kind, "summary": summary_line(a.payload), "run_id": a.run_id}
            for a in alerts[:50]
        ],
    }
