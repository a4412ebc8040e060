"""Wire models of alert channels, rules and alerts. A channel's URL and signing secret are
accepted but never returned: a URL is shown by its scheme and host only, a secret as
``has_secret`` (``{"$secret": NAME}`` references are shown as they are: they hold no value)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from tickwork.domain.alerts import (
    ALERT_EVENTS,
    Alert,
    Channel,
    Rule,
    masked_url,
    run_link,
    summary_line,
)
from tickwork.domain.errors import ValidationError
from tickwork.domain.namespaces import DEFAULT_NAMESPACE
from tickwork.schemas.fields import Text

Name = Annotated[Text, Field(min_length=1, max_length=200)]
SecretRef = dict[Literal["$secret"], Annotated[Text, Field(max_length=128)]]
SecretValue = Annotated[Text, Field(min_length=1, max_length=2000)] | SecretRef


def _namespace(body_ns: str | None, namespace: str | None) -> str:
    if body_ns is not None and namespace is not None and body_ns != namespace:
        raise ValidationError(
            "namespace", f"the body says '{body_ns}' but the request '{namespace}'"
        )
    return body_ns or namespace or DEFAULT_NAMESPACE


class ChannelIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    type: Literal["webhook", "slack", "email"]
    namespace: Annotated[Text, Field(max_length=63)] | None = None
    url: SecretValue | None = Field(
        default=None,
        description='webhook and slack: where to POST (a secret: a URL or {"$secret": NAME} '
        "of the coordinator's environment); never returned. On PUT, omitted keeps it.",
    )
    secret: SecretValue | None = Field(
        default=None,
        description="webhook: signs each body, `X-Tickwork-Signature: sha256=<hex HMAC-SHA256 "
        "of the body>`; never returned. On PUT, omitted keeps it, null removes it.",
    )
    to: list[Annotated[Text, Field(max_length=320)]] = Field(
        default_factory=list, max_length=20, description="email: the addresses."
    )

    def to_channel(self, namespace: str | None, stored: Channel | None = None) -> Channel:
        given = self.model_fields_set
        url: Any = self.url
        secret: Any = self.secret
        if stored is not None and stored.type == self.type:
            url = self.url if "url" in given else stored.url
            secret = self.secret if "secret" in given else stored.secret
        return Channel(
            name=self.name,
            type=self.type,
            namespace=_namespace(self.namespace, namespace),
            url=url,
            secret=secret,
            to=tuple(self.to),
        )


class ChannelOut(BaseModel):
    name: str
    namespace: str
    type: str
    url: str | dict[str, str] | None = Field(
        description="The scheme and host only (`https://hooks.slack.com/…`), or the secret "
        "reference."
    )
    has_secret: bool
    secret_ref: dict[str, str] | None = Field(
        default=None, description='The secret when it is a {"$secret": NAME} reference.'
    )
    to: list[str]

    @classmethod
    def of(cls, ch: Channel) -> ChannelOut:
        return cls(
            name=ch.name,
            namespace=ch.namespace,
            type=ch.type,
            url=masked_url(ch.url),
            has_secret=ch.has_secret,
            secret_ref=dict(ch.secret) if isinstance(ch.secret, Mapping) else None,
            to=list(ch.to),
        )


class ChannelList(BaseModel):
    channels: list[ChannelOut]


class ChannelTestOut(BaseModel):
    ok: bool
    error: str | None = Field(description="Why the delivery failed (never a secret).")
    seconds: float


class RuleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    namespace: Annotated[Text, Field(max_length=63)] | None = None
    events: list[Text] = Field(
        min_length=1,
        max_length=len(ALERT_EVENTS),
        description=f"Any of {', '.join(ALERT_EVENTS)}.",
    )
    jobs: list[Annotated[Text, Field(max_length=200)]] = Field(
        default_factory=lambda: ["*"],
        min_length=1,
        max_length=100,
        description='Jobs of the rule\'s namespace it covers: "*", a job name, or "tag:x".',
    )
    channels: list[Name] = Field(min_length=1, max_length=20)

    def to_rule(self, namespace: str | None) -> Rule:
        return Rule(
            name=self.name,
            events=tuple(self.events),
            jobs=tuple(self.jobs),
            channels=tuple(self.channels),
            namespace=_namespace(self.namespace, namespace),
        )


class RuleOut(BaseModel):
    name: str
    namespace: str
    events: list[str]
    jobs: list[str]
    channels: list[str]

    @classmethod
    def of(cls, rule: Rule) -> RuleOut:
        return cls(
            name=rule.name,
            namespace=rule.namespace,
            events=list(rule.events),
            jobs=list(rule.jobs),
            channels=list(rule.channels),
        )


class RuleList(BaseModel):
    rules: list[RuleOut]


class DeliveryOut(BaseModel):
    at: str
    ok: bool
    error: str | None


class AlertOut(BaseModel):
    id: int
    namespace: str
    rule: str
    channel: str
    event: str
    subject: str = Field(
        description="What makes it one alert: a run (and attempt), a job's window."
    )
    job_id: str | None
    run_id: str | None
    link: str | None = Field(description="The run in the dashboard.")
    summary: str
    payload: dict[str, Any]
    status: Literal["pending", "sent", "failed", "held", "digested"]
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None
    deliveries: list[DeliveryOut] = Field(description="Every delivery attempt (the last 20).")

    @classmethod
    def of(cls, a: Alert, public_url: str) -> AlertOut:
        return cls(
            id=a.id,
            namespace=a.namespace,
            rule=a.rule,
            channel=a.channel,
            event=a.kind,
            subject=a.subject,
            job_id=a.job_id,
            run_id=a.run_id,
            link=run_link(public_url, a.run_id),
            summary=summary_line(a.payload),
            payload=dict(a.payload),
            status=a.status,
            attempts=a.attempts,
            next_attempt_at=a.next_attempt_at,
            last_error=a.last_error,
            created_at=a.created_at,
            sent_at=a.sent_at,
            deliveries=[DeliveryOut(**h) for h in a.history],
        )


class AlertList(BaseModel):
    alerts: list[AlertOut]
    next_before: int | None = Field(description="Pass as ?before= for the next (older) page.")
